package api

import (
	"context"
	"strconv"
	"strings"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
)

// DirectoryServer implements resourcesv1.DirectoryServiceServer.
type DirectoryServer struct {
	resourcesv1.UnimplementedDirectoryServiceServer
	service *domain.DirectoryService
	tokens  TokenCodec
	filter  listfilter.Schema
}

// NewDirectoryServer returns the directory API over service.
func NewDirectoryServer(service *domain.DirectoryService, tokens TokenCodec) *DirectoryServer {
	return &DirectoryServer{service: service, tokens: tokens, filter: listfilter.Schema{
		"site":        {Kind: listfilter.String},
		"slug":        {Kind: listfilter.String},
		"update_time": {Kind: listfilter.Time},
	}}
}

// directoryID returns the id of "directories/{id}", naming field when the name is malformed.
func directoryID(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "directories/")
	if !ok || !domain.ValidResourceID(id) {
		return "", apperr.InvalidField(field, "must be a directory name like directories/abc123 (got %q)", name)
	}
	return id, nil
}

func (s *DirectoryServer) view(ctx context.Context, d *domain.Directory) *resourcesv1.Directory {
	out := toProtoDirectory(d, s.service.RenderIntro(d.Intro))
	out.LintFindings = toProtoLintFindings(s.service.LintFindings(ctx, d))
	for i, name := range s.service.EntryNames(d) {
		out.Entries[i].DisplayName = name
	}
	return out
}

func (s *DirectoryServer) CreateDirectory(ctx context.Context, req *resourcesv1.CreateDirectoryRequest) (*resourcesv1.Directory, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetDirectory() == nil {
		return nil, apperr.InvalidField("directory", "is required")
	}
	f, err := fromProtoDirectoryFields(req.GetDirectory(), nil)
	if err != nil {
		return nil, err
	}
	d, err := s.service.Create(ctx, p, f)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, d), nil
}

func (s *DirectoryServer) GetDirectory(ctx context.Context, req *resourcesv1.GetDirectoryRequest) (*resourcesv1.Directory, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := directoryID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	d, err := s.service.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, d), nil
}

// directoryMask turns update-mask paths (proto or JSON names) into proto names, dropping identifier
// and output-only fields (AIP-203) and expanding "*" to every writable field.
func directoryMask(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p == "*" {
			return nil
		}
		p = snakeCase(p)
		switch p {
		case "name", "etag", "intro_html", "revision_id", "create_time", "update_time", "delete_time":
			continue
		}
		out = append(out, p)
	}
	if len(paths) > 0 && len(out) == 0 {
		return []string{} // only ignored fields: nothing to change
	}
	return out
}

// snakeCase turns a lowerCamelCase path into proto names: "introHtml" becomes "intro_html".
func snakeCase(path string) string {
	var b strings.Builder
	for _, r := range path {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *DirectoryServer) UpdateDirectory(ctx context.Context, req *resourcesv1.UpdateDirectoryRequest) (*resourcesv1.Directory, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetDirectory() == nil {
		return nil, apperr.InvalidField("directory", "is required")
	}
	id, err := directoryID("directory.name", req.GetDirectory().GetName())
	if err != nil {
		return nil, err
	}
	mask := directoryMask(req.GetUpdateMask().GetPaths())
	if mask != nil && len(mask) == 0 {
		return s.GetDirectory(ctx, &resourcesv1.GetDirectoryRequest{Name: req.GetDirectory().GetName()})
	}
	f, err := fromProtoDirectoryFields(req.GetDirectory(), mask)
	if err != nil {
		return nil, err
	}
	d, err := s.service.Update(ctx, p, id, req.GetDirectory().GetEtag(), f, mask)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, d), nil
}

func (s *DirectoryServer) DeleteDirectory(ctx context.Context, req *resourcesv1.DeleteDirectoryRequest) (*resourcesv1.Directory, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := directoryID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	d, err := s.service.Delete(ctx, p, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return s.view(ctx, d), nil
}

func (s *DirectoryServer) UndeleteDirectory(ctx context.Context, req *resourcesv1.UndeleteDirectoryRequest) (*resourcesv1.Directory, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := directoryID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	d, err := s.service.Undelete(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, d), nil
}

func (s *DirectoryServer) ListDirectoryRevisions(ctx context.Context, req *resourcesv1.ListDirectoryRevisionsRequest) (*resourcesv1.ListDirectoryRevisionsResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := directoryID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	size, err := pagetoken.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	revs, next, err := pagetoken.PageBefore(s.tokens, pagetoken.Scope("ListDirectoryRevisions", p.KeyName, id), req.GetPageToken(), size,
		func(r domain.DirectoryRevision) int64 { return r.RevisionID },
		func(before int64, limit int) ([]domain.DirectoryRevision, error) {
			return s.service.ListRevisions(ctx, p, id, before, limit)
		})
	if err != nil {
		return nil, err
	}
	resp := &resourcesv1.ListDirectoryRevisionsResponse{NextPageToken: next}
	for _, rev := range revs {
		d := rev.Directory
		resp.Revisions = append(resp.Revisions, &resourcesv1.DirectoryRevision{
			Name: d.Name() + "/revisions/" + strconv.FormatInt(rev.RevisionID, 10), RevisionId: rev.RevisionID,
			Actor: rev.Change.Actor, CreateTime: toProtoTime(rev.Change.Time), Action: rev.Change.Action,
			ChangedFields: rev.Change.Fields, Snapshot: toProtoDirectory(&d, ""),
		})
	}
	return resp, nil
}

// directoryOrderings are the orders ListDirectories accepts: a less function (ascending) and the
// sort key of a directory for page tokens.
var directoryOrderings = map[string]struct {
	less func(a, b *domain.Directory) bool
	key  func(d *domain.Directory) listPageToken
}{
	"update_time": {func(a, b *domain.Directory) bool { return a.UpdateTime.Before(b.UpdateTime) },
		func(d *domain.Directory) listPageToken { return listPageToken{Time: d.UpdateTime, ID: d.ID} }},
	"create_time": {func(a, b *domain.Directory) bool { return a.CreateTime.Before(b.CreateTime) },
		func(d *domain.Directory) listPageToken { return listPageToken{Time: d.CreateTime, ID: d.ID} }},
	"title": {func(a, b *domain.Directory) bool { return a.Title < b.Title },
		func(d *domain.Directory) listPageToken { return listPageToken{Text: d.Title, ID: d.ID} }},
}

func (s *DirectoryServer) ListDirectories(ctx context.Context, req *resourcesv1.ListDirectoriesRequest) (*resourcesv1.ListDirectoriesResponse, error) {
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
	words := strings.Fields(req.GetOrderBy())
	field, desc := "update_time", true
	if len(words) > 0 {
		_, known := directoryOrderings[words[0]]
		if !known || len(words) > 2 || (len(words) == 2 && words[1] != "desc" && words[1] != "asc") {
			return nil, apperr.InvalidField("order_by", "must be one of update_time, create_time, title, optionally followed by \" desc\" (got %q)", req.GetOrderBy())
		}
		field, desc = words[0], len(words) == 2 && words[1] == "desc"
	}
	ordering := directoryOrderings[field]
	less := func(a, b *domain.Directory) bool {
		if desc {
			return ordering.less(b, a)
		}
		return ordering.less(a, b)
	}
	lessWithID := func(a, b *domain.Directory) bool {
		if less(a, b) {
			return true
		}
		return !less(b, a) && a.ID < b.ID
	}
	q := domain.DirectoryQuery{ShowDeleted: req.GetShowDeleted(), Less: less, Limit: size + 1}
	var tests []func(*domain.Directory) bool
	for _, c := range conds {
		eq := c.Op == listfilter.Eq
		switch c.Field {
		case "site":
			site := strings.TrimPrefix(c.Value, "sites/")
			if eq && q.Site == "" {
				q.Site = site
			}
			tests = append(tests, func(d *domain.Directory) bool { return (d.Site == site) == eq })
		case "slug":
			tests = append(tests, func(d *domain.Directory) bool { return (d.Slug == c.Value) == eq })
		case "update_time":
			tests = append(tests, func(d *domain.Directory) bool { return compareTime(d.UpdateTime, c.Op, c.Time) })
		}
	}
	q.Match = func(d *domain.Directory) bool {
		for _, t := range tests {
			if !t(d) {
				return false
			}
		}
		return true
	}
	scope := pagetoken.Scope("ListDirectories", p.KeyName, req.GetFilter(), req.GetOrderBy(), strconv.FormatBool(req.GetShowDeleted()))
	if req.GetPageToken() != "" {
		var tok listPageToken
		if err := s.tokens.Decode(req.GetPageToken(), scope, &tok); err != nil {
			return nil, err
		}
		cursor := &domain.Directory{ID: tok.ID, UpdateTime: tok.Time, CreateTime: tok.Time}
		cursor.Title = tok.Text
		q.After = func(d *domain.Directory) bool { return !lessWithID(cursor, d) }
	}
	list, err := s.service.List(ctx, p, q)
	if err != nil {
		return nil, err
	}
	resp := &resourcesv1.ListDirectoriesResponse{}
	if len(list) > size {
		list = list[:size]
		if resp.NextPageToken, err = s.tokens.Encode(scope, ordering.key(list[size-1])); err != nil {
			return nil, err
		}
	}
	for _, d := range list {
		resp.Directories = append(resp.Directories, s.view(ctx, d))
	}
	return resp, nil
}

// fromProtoDirectoryFields converts the writable fields of a directory. With a mask, only the
// masked fields are converted (and so checked for malformed names); nil means all.
func fromProtoDirectoryFields(pd *resourcesv1.Directory, mask []string) (domain.DirectoryFields, error) {
	want := func(field string) bool {
		if mask == nil {
			return true
		}
		for _, m := range mask {
			if m == field {
				return true
			}
		}
		return false
	}
	var v apperr.Violations
	f := domain.DirectoryFields{Title: pd.GetTitle(), Slug: pd.GetSlug(), Intro: pd.GetIntro()}
	if want("site") {
		if id, ok := strings.CutPrefix(pd.GetSite(), "sites/"); ok && id != "" && !strings.Contains(id, "/") {
			f.Site = id
		} else {
			v.Add("directory.site", "must be a site name like sites/kratom-help (got %q)", pd.GetSite())
		}
	}
	if want("entries") {
		for i, e := range pd.GetEntries() {
			id, err := resourceID("directory.entries["+itoa(i)+"].resource", e.GetResource())
			if err != nil {
				fe, _ := apperr.As(err)
				v = append(v, fe.Fields...)
				continue
			}
			f.Entries = append(f.Entries, domain.DirectoryEntry{ResourceID: id, Note: e.GetNote()})
		}
	}
	if r := pd.GetRule(); r != nil && want("rule") {
		rule := &domain.DirectoryRule{TaxonomyTerms: r.GetTaxonomyTerms()}
		for i, k := range r.GetKinds() {
			kind := domain.Kind(k)
			if !kind.Valid() {
				v.Add("directory.rule.kinds["+itoa(i)+"]", "must be one of %s", strings.Join(domain.KindNames(), ", "))
				continue
			}
			rule.Kinds = append(rule.Kinds, kind)
		}
		if a := r.GetRegion(); a != nil {
			rule.Region = &domain.ServiceArea{Country: a.GetCountry(), Region: a.GetRegion(), PostalCodes: a.GetPostalCodes()}
		}
		f.Rule = rule
	}
	return f, v.Err()
}

// toProtoDirectory converts a directory; introHTML is its rendered intro ("" in revisions).
func toProtoDirectory(d *domain.Directory, introHTML string) *resourcesv1.Directory {
	out := &resourcesv1.Directory{
		Name: d.Name(), Title: d.Title, Slug: d.Slug, Intro: d.Intro, Site: "sites/" + d.Site, IntroHtml: introHTML,
		Etag: d.Etag(), RevisionId: d.RevisionID, CreateTime: toProtoTime(d.CreateTime), UpdateTime: toProtoTime(d.UpdateTime),
		DeleteTime: toProtoTime(d.DeleteTime),
	}
	for _, e := range d.Entries {
		out.Entries = append(out.Entries, &resourcesv1.DirectoryEntry{Resource: "resources/" + e.ResourceID, Note: e.Note})
	}
	if r := d.Rule; r != nil {
		pr := &resourcesv1.DirectoryRule{TaxonomyTerms: r.TaxonomyTerms}
		for _, k := range r.Kinds {
			pr.Kinds = append(pr.Kinds, resourcesv1.Kind(k))
		}
		if a := r.Region; a != nil {
			pr.Region = &resourcesv1.ServiceArea{Country: a.Country, Region: a.Region, PostalCodes: a.PostalCodes}
		}
		out.Rule = pr
	}
	return out
}

// DirectoryRules is the access policy of the directory API: roles decide which methods a key may
// call; the domain then limits every call to the site the key covers.
func DirectoryRules() auth.Policy {
	readers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor, auth.RoleViewer}}
	writers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor}}
	return auth.Policy{
		resourcesv1.DirectoryService_CreateDirectory_FullMethodName:        writers,
		resourcesv1.DirectoryService_GetDirectory_FullMethodName:           readers,
		resourcesv1.DirectoryService_ListDirectories_FullMethodName:        readers,
		resourcesv1.DirectoryService_UpdateDirectory_FullMethodName:        writers,
		resourcesv1.DirectoryService_DeleteDirectory_FullMethodName:        writers,
		resourcesv1.DirectoryService_UndeleteDirectory_FullMethodName:      writers,
		resourcesv1.DirectoryService_ListDirectoryRevisions_FullMethodName: readers,
	}
}
