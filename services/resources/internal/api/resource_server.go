package api

import (
	"context"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/resources/internal/csvfile"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/resources/internal/hsds"
)

func itoa(i int) string { return strconv.Itoa(i) }

// TokenCodec signs and checks page tokens (platform/pagetoken.Codec).
type TokenCodec interface {
	Encode(scope string, payload any) (string, error)
	Decode(token, scope string, payload any) error
}

// MaxImportBytes bounds the file an ImportResources request carries.
const MaxImportBytes = 16 << 20

// ResourceServer implements resourcesv1.ResourceServiceServer.
type ResourceServer struct {
	resourcesv1.UnimplementedResourceServiceServer
	service *domain.Service
	tokens  TokenCodec
	filter  listfilter.Schema
}

// NewResourceServer returns the resource API over service.
func NewResourceServer(service *domain.Service, tokens TokenCodec) *ResourceServer {
	bools := []string{"true", "false"}
	return &ResourceServer{service: service, tokens: tokens, filter: listfilter.Schema{
		"kind":               {Kind: listfilter.Enum, Values: domain.KindNames()},
		"status":             {Kind: listfilter.Enum, Values: domain.StatusNames()},
		"site":               {Kind: listfilter.String},
		"taxonomy":           {Kind: listfilter.String},
		"language":           {Kind: listfilter.String},
		"display_name":       {Kind: listfilter.Text},
		"crisis":             {Kind: listfilter.Enum, Values: bools},
		"stale":              {Kind: listfilter.Enum, Values: bools},
		"update_time":        {Kind: listfilter.Time},
		"create_time":        {Kind: listfilter.Time},
		"last_verified_date": {Kind: listfilter.Time},
	}}
}

func (s *ResourceServer) view(ctx context.Context, r *domain.Resource) *resourcesv1.Resource {
	return toProtoResource(r, resourceView{html: s.service.RenderDescription(r.Description), stale: s.service.Stale(ctx, r), lint: s.service.LintFindings(ctx, r)})
}

func (s *ResourceServer) CreateResource(ctx context.Context, req *resourcesv1.CreateResourceRequest) (*resourcesv1.Resource, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetResource() == nil {
		return nil, apperr.InvalidField("resource", "is required")
	}
	f, err := fromProtoFields(req.GetResource())
	if err != nil {
		return nil, err
	}
	r, err := s.service.Create(ctx, p, f)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, r), nil
}

func (s *ResourceServer) GetResource(ctx context.Context, req *resourcesv1.GetResourceRequest) (*resourcesv1.Resource, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := resourceID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.service.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, r), nil
}

func (s *ResourceServer) UpdateResource(ctx context.Context, req *resourcesv1.UpdateResourceRequest) (*resourcesv1.Resource, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetResource() == nil {
		return nil, apperr.InvalidField("resource", "is required")
	}
	id, err := resourceID("resource.name", req.GetResource().GetName())
	if err != nil {
		return nil, err
	}
	f, err := fromProtoFields(req.GetResource())
	if err != nil {
		return nil, err
	}
	r, err := s.service.Update(ctx, p, id, req.GetResource().GetEtag(), f, req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	return s.view(ctx, r), nil
}

func (s *ResourceServer) DeleteResource(ctx context.Context, req *resourcesv1.DeleteResourceRequest) (*resourcesv1.Resource, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := resourceID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.service.Delete(ctx, p, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return s.view(ctx, r), nil
}

func (s *ResourceServer) UndeleteResource(ctx context.Context, req *resourcesv1.UndeleteResourceRequest) (*resourcesv1.Resource, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := resourceID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.service.Undelete(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, r), nil
}

func (s *ResourceServer) VerifyResource(ctx context.Context, req *resourcesv1.VerifyResourceRequest) (*resourcesv1.Resource, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := resourceID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.service.Verify(ctx, p, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return s.view(ctx, r), nil
}

func (s *ResourceServer) ListResourceRevisions(ctx context.Context, req *resourcesv1.ListResourceRevisionsRequest) (*resourcesv1.ListResourceRevisionsResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := resourceID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	size, err := pagetoken.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	revs, next, err := pagetoken.PageBefore(s.tokens, pagetoken.Scope("ListResourceRevisions", p.KeyName, id), req.GetPageToken(), size,
		func(r domain.Revision) int64 { return r.RevisionID },
		func(before int64, limit int) ([]domain.Revision, error) {
			return s.service.ListRevisions(ctx, p, id, before, limit)
		})
	if err != nil {
		return nil, err
	}
	resp := &resourcesv1.ListResourceRevisionsResponse{NextPageToken: next}
	for _, rev := range revs {
		r := rev.Resource
		resp.Revisions = append(resp.Revisions, &resourcesv1.ResourceRevision{
			Name: r.Name() + "/revisions/" + strconv.FormatInt(rev.RevisionID, 10), RevisionId: rev.RevisionID,
			Actor: rev.Change.Actor, CreateTime: toProtoTime(rev.Change.Time), Action: rev.Change.Action,
			ChangedFields: rev.Change.Fields, Snapshot: toProtoResource(&r, resourceView{}),
		})
	}
	return resp, nil
}

// listPageToken is what a ListResources page token carries: the last resource's sort key and id.
type listPageToken struct {
	Time time.Time `json:"t,omitzero"`
	Text string    `json:"s,omitempty"`
	ID   string    `json:"i"`
}

// orderings are the orders ListResources accepts: a less function (ascending) and the sort key of
// a resource for page tokens.
var orderings = map[string]struct {
	less func(a, b *domain.Resource) bool
	key  func(r *domain.Resource) listPageToken
}{
	"update_time": {func(a, b *domain.Resource) bool { return a.UpdateTime.Before(b.UpdateTime) },
		func(r *domain.Resource) listPageToken { return listPageToken{Time: r.UpdateTime, ID: r.ID} }},
	"create_time": {func(a, b *domain.Resource) bool { return a.CreateTime.Before(b.CreateTime) },
		func(r *domain.Resource) listPageToken { return listPageToken{Time: r.CreateTime, ID: r.ID} }},
	"display_name": {func(a, b *domain.Resource) bool { return a.DisplayName < b.DisplayName },
		func(r *domain.Resource) listPageToken { return listPageToken{Text: r.DisplayName, ID: r.ID} }},
	"last_verified_date": {func(a, b *domain.Resource) bool { return a.Verified.Date.Before(b.Verified.Date) },
		func(r *domain.Resource) listPageToken { return listPageToken{Text: r.Verified.Date.String(), ID: r.ID} }},
}

// fromToken rebuilds a resource carrying only a page token's sort key, to compare against.
func fromToken(t listPageToken) *domain.Resource {
	r := &domain.Resource{ID: t.ID, UpdateTime: t.Time, CreateTime: t.Time}
	r.DisplayName = t.Text
	r.Verified.Date, _ = domain.ParseDate(t.Text)
	return r
}

func (s *ResourceServer) ListResources(ctx context.Context, req *resourcesv1.ListResourcesRequest) (*resourcesv1.ListResourcesResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	size, err := pagetoken.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	conds, err := listfilter.Parse(req.GetFilter(), s.filter)
	if err != nil {
		return nil, err
	}
	field, desc, err := parseOrderBy(req.GetOrderBy())
	if err != nil {
		return nil, err
	}
	ordering := orderings[field]
	less := func(a, b *domain.Resource) bool {
		if desc {
			return ordering.less(b, a)
		}
		return ordering.less(a, b)
	}
	// lessWithID is the full order of the list: the field, then the id.
	lessWithID := func(a, b *domain.Resource) bool {
		if less(a, b) {
			return true
		}
		return !less(b, a) && a.ID < b.ID
	}
	q := domain.ResourceQuery{ShowDeleted: req.GetShowDeleted(), Less: less, Limit: size + 1}
	q.Match, q.Sites = s.compileFilter(ctx, conds, p.Site)
	scope := pagetoken.Scope("ListResources", p.KeyName, req.GetFilter(), req.GetOrderBy(), strconv.FormatBool(req.GetShowDeleted()))
	if req.GetPageToken() != "" {
		var tok listPageToken
		if err := s.tokens.Decode(req.GetPageToken(), scope, &tok); err != nil {
			return nil, err
		}
		cursor := fromToken(tok)
		q.After = func(r *domain.Resource) bool { return !lessWithID(cursor, r) }
	}
	list, err := s.service.List(ctx, p, q)
	if err != nil {
		return nil, err
	}
	resp := &resourcesv1.ListResourcesResponse{}
	if len(list) > size {
		list = list[:size]
		if resp.NextPageToken, err = s.tokens.Encode(scope, ordering.key(list[size-1])); err != nil {
			return nil, err
		}
	}
	for _, r := range list {
		resp.Resources = append(resp.Resources, s.view(ctx, r))
	}
	return resp, nil
}

// parseOrderBy accepts one field with an optional " desc" / " asc"; the default is "update_time desc".
func parseOrderBy(s string) (string, bool, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return "update_time", true, nil
	}
	if _, ok := orderings[words[0]]; !ok || len(words) > 2 || (len(words) == 2 && words[1] != "desc" && words[1] != "asc") {
		return "", false, apperr.InvalidField("order_by", "must be one of update_time, create_time, display_name, last_verified_date, optionally followed by \" desc\" (got %q)", s)
	}
	return words[0], len(words) == 2 && words[1] == "desc", nil
}

// compileFilter turns filter conditions into a match function, and site = conditions into the
// query's site list (so the index narrows by site first). `stale` uses the threshold of the site
// the list is about: the filter's `site = X`, else keySite (a site-scoped key's site), else the
// strictest threshold of each resource's own sites.
func (s *ResourceServer) compileFilter(ctx context.Context, conds []listfilter.Condition, keySite string) (func(*domain.Resource) bool, []string) {
	staleSite := keySite
	for _, c := range conds {
		if c.Field == "site" && c.Op == listfilter.Eq {
			staleSite = strings.TrimPrefix(c.Value, "sites/")
			break
		}
	}
	var sites []string
	var tests []func(*domain.Resource) bool
	for _, c := range conds {
		eq := c.Op == listfilter.Eq
		switch c.Field {
		case "site":
			site := strings.TrimPrefix(c.Value, "sites/")
			if eq {
				sites = append(sites, site)
			}
			tests = append(tests, func(r *domain.Resource) bool { return slices.Contains(r.TargetSites, site) == eq })
		case "kind":
			tests = append(tests, func(r *domain.Resource) bool { return (r.Kind.String() == c.Value) == eq })
		case "status":
			tests = append(tests, func(r *domain.Resource) bool { return (r.Status.String() == c.Value) == eq })
		case "taxonomy":
			term := strings.ToLower(c.Value)
			tests = append(tests, func(r *domain.Resource) bool { return slices.Contains(r.TaxonomyTerms, term) == eq })
		case "language":
			tests = append(tests, func(r *domain.Resource) bool {
				return slices.ContainsFunc(r.Languages, func(l string) bool { return strings.EqualFold(l, c.Value) }) == eq
			})
		case "display_name":
			// Has (":"), the only operator of a Text field: the name contains the value,
			// case-insensitively (Unicode simple folding).
			text := strings.ToLower(c.Value)
			tests = append(tests, func(r *domain.Resource) bool { return strings.Contains(strings.ToLower(r.DisplayName), text) })
		case "crisis":
			want := c.Value == "true"
			tests = append(tests, func(r *domain.Resource) bool { return (r.Crisis == want) == eq })
		case "stale":
			want := c.Value == "true"
			tests = append(tests, func(r *domain.Resource) bool {
				if staleSite != "" {
					return (s.service.StaleOnSite(ctx, r, staleSite) == want) == eq
				}
				return (s.service.Stale(ctx, r) == want) == eq
			})
		case "update_time", "create_time", "last_verified_date":
			tests = append(tests, func(r *domain.Resource) bool {
				var t time.Time
				switch c.Field {
				case "update_time":
					t = r.UpdateTime
				case "create_time":
					t = r.CreateTime
				default:
					if r.Verified.Date.IsZero() {
						return false // never verified: no date to compare
					}
					d := r.Verified.Date
					t = time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
				}
				return compareTime(t, c.Op, c.Time)
			})
		}
	}
	if len(sites) > 1 {
		sites = sites[:1] // "site = a AND site = b" matches only resources on both: the tests check
	}
	match := func(r *domain.Resource) bool {
		for _, t := range tests {
			if !t(r) {
				return false
			}
		}
		return true
	}
	return match, sites
}

func compareTime(t time.Time, op listfilter.Op, v time.Time) bool {
	switch op {
	case listfilter.Eq:
		return t.Equal(v)
	case listfilter.Ne:
		return !t.Equal(v)
	case listfilter.Lt:
		return t.Before(v)
	case listfilter.Le:
		return !t.After(v)
	case listfilter.Gt:
		return t.After(v)
	case listfilter.Ge:
		return !t.Before(v)
	}
	return false
}

// ImportResources reads the file, then streams progress every 100 rows and the final totals.
func (s *ResourceServer) ImportResources(req *resourcesv1.ImportResourcesRequest, stream grpc.ServerStreamingServer[resourcesv1.ImportResourcesResponse]) error {
	ctx := stream.Context()
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	site, err := siteID("site", req.GetSite())
	if err != nil {
		return err
	}
	if len(req.GetContent()) > MaxImportBytes {
		return apperr.InvalidField("content", "must be at most %d bytes", MaxImportBytes)
	}
	var records []domain.ImportRecord
	switch req.GetFormat() {
	case resourcesv1.ImportFormat_IMPORT_FORMAT_CSV:
		source := req.GetSource()
		if source == "" {
			source = "csv"
		}
		records, err = csvfile.Read(strings.NewReader(req.GetContent()), source)
	case resourcesv1.ImportFormat_IMPORT_FORMAT_HSDS_JSON:
		source := req.GetSource()
		if source == "" {
			source = "hsds"
		}
		records, err = hsds.Read([]byte(req.GetContent()), source)
	default:
		return apperr.InvalidField("format", "is required: IMPORT_FORMAT_CSV or IMPORT_FORMAT_HSDS_JSON")
	}
	if err != nil {
		return apperr.InvalidField("content", "cannot be read: %v", err)
	}
	total := int32(len(records))
	var sendErr error
	sum, _, err := s.service.Import(ctx, p, domain.ImportRequest{
		Site: site, Records: records, ValidateOnly: req.GetValidateOnly(),
		Progress: func(done int, batch []domain.ImportResult) {
			if sendErr != nil {
				return
			}
			msg := &resourcesv1.ImportResourcesResponse{RowsTotal: total, RowsDone: int32(done)}
			for _, r := range batch {
				msg.Results = append(msg.Results, toProtoImportResult(r))
			}
			sendErr = stream.Send(msg)
		},
	})
	if err != nil {
		return err
	}
	if sendErr != nil {
		return sendErr
	}
	err = stream.Send(&resourcesv1.ImportResourcesResponse{RowsTotal: total, RowsDone: total, Done: true,
		Created: int32(sum.Created), Updated: int32(sum.Updated), Skipped: int32(sum.Skipped)})
	if total >= largeImportRows {
		// Thousands of rows leave tens of megabytes of garbage behind (the parsed file, the
		// documents written, the rows' reports): give that memory back now, after the answer,
		// rather than keep the import's high-water mark as the process's size.
		debug.FreeOSMemory()
	}
	return err
}

// largeImportRows is the size from which an import gives its memory back when it ends.
const largeImportRows = 1000

func toProtoImportResult(r domain.ImportResult) *resourcesv1.ImportRowResult {
	out := &resourcesv1.ImportRowResult{Row: int32(r.Row), ExternalId: r.ExternalID, Outcome: resourcesv1.ImportRowResult_Outcome(r.Outcome),
		Reason: r.Reason, FieldViolations: r.Violations}
	if r.ResourceID != "" {
		out.Resource = "resources/" + r.ResourceID
	}
	return out
}

// ExportResources returns the site's live resources as HSDS 3.0 JSON, ordered by name.
func (s *ResourceServer) ExportResources(ctx context.Context, req *resourcesv1.ExportResourcesRequest) (*httpbody.HttpBody, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	site, err := siteID("site", req.GetSite())
	if err != nil {
		return nil, err
	}
	if !p.CoversSite(site) {
		return nil, apperr.New(apperr.PermissionDenied, "the key is for site %q, not %q", "sites/"+p.Site, req.GetSite())
	}
	list, err := s.service.List(ctx, p, domain.ResourceQuery{Sites: []string{site},
		Less: func(a, b *domain.Resource) bool { return a.DisplayName < b.DisplayName }})
	if err != nil {
		return nil, err
	}
	body, err := hsds.Export(list)
	if err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: "application/json", Data: body}, nil
}

// Rules is the access policy of the resource API: roles decide which methods a key may call; the
// domain then limits every call to the sites the key covers.
func Rules() auth.Policy {
	readers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor, auth.RoleViewer}}
	writers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor}}
	return auth.Policy{
		resourcesv1.ResourceService_CreateResource_FullMethodName:        writers,
		resourcesv1.ResourceService_GetResource_FullMethodName:           readers,
		resourcesv1.ResourceService_ListResources_FullMethodName:         readers,
		resourcesv1.ResourceService_UpdateResource_FullMethodName:        writers,
		resourcesv1.ResourceService_DeleteResource_FullMethodName:        writers,
		resourcesv1.ResourceService_UndeleteResource_FullMethodName:      writers,
		resourcesv1.ResourceService_VerifyResource_FullMethodName:        writers,
		resourcesv1.ResourceService_ListResourceRevisions_FullMethodName: readers,
		resourcesv1.ResourceService_ImportResources_FullMethodName:       writers,
		resourcesv1.ResourceService_ExportResources_FullMethodName:       readers,
	}
}
