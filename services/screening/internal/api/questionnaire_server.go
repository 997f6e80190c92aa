package api

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/auth"
	"github.com/beaconcms/beacon/platform/listfilter"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"github.com/beaconcms/beacon/services/screening/internal/fhir"
)

// defaultStatsDays is the range of a stats request without from: 30 days up to to.
const defaultStatsDays = 30

// TokenCodec signs and checks page tokens (platform/pagetoken.Codec).
type TokenCodec interface {
	Encode(scope string, payload any) (string, error)
	Decode(token, scope string, payload any) error
}

// StatsSource reads the aggregate counters (domain.Tally).
type StatsSource interface {
	Stats(ctx context.Context, questionnaireID, from, to, site string) (domain.StatsReport, error)
}

// QuestionnaireServer implements screeningv1.QuestionnaireServiceServer.
type QuestionnaireServer struct {
	screeningv1.UnimplementedQuestionnaireServiceServer
	service *domain.Service
	stats   StatsSource
	tokens  TokenCodec
	now     func() time.Time
	filter  listfilter.Schema
}

// NewQuestionnaireServer returns the management API over service. now may be nil for time.Now.
func NewQuestionnaireServer(service *domain.Service, stats StatsSource, tokens TokenCodec, now func() time.Time) *QuestionnaireServer {
	if now == nil {
		now = time.Now
	}
	return &QuestionnaireServer{service: service, stats: stats, tokens: tokens, now: now, filter: listfilter.Schema{
		"state":        {Kind: listfilter.Enum, Values: []string{"DRAFT", "PUBLISHED"}},
		"site":         {Kind: listfilter.String},
		"slug":         {Kind: listfilter.String},
		"update_time":  {Kind: listfilter.Time},
		"create_time":  {Kind: listfilter.Time},
		"publish_time": {Kind: listfilter.Time},
	}}
}

// Rules is the access policy of QuestionnaireService: viewers read, editors and admins write.
// Site scope is the domain's rule.
func Rules() auth.Policy {
	readers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor, auth.RoleViewer}}
	writers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor}}
	return auth.Policy{
		screeningv1.QuestionnaireService_CreateQuestionnaire_FullMethodName:        writers,
		screeningv1.QuestionnaireService_GetQuestionnaire_FullMethodName:           readers,
		screeningv1.QuestionnaireService_ListQuestionnaires_FullMethodName:         readers,
		screeningv1.QuestionnaireService_UpdateQuestionnaire_FullMethodName:        writers,
		screeningv1.QuestionnaireService_DeleteQuestionnaire_FullMethodName:        writers,
		screeningv1.QuestionnaireService_UndeleteQuestionnaire_FullMethodName:      writers,
		screeningv1.QuestionnaireService_PublishQuestionnaire_FullMethodName:       writers,
		screeningv1.QuestionnaireService_ListQuestionnaireRevisions_FullMethodName: readers,
		screeningv1.QuestionnaireService_ExportQuestionnaireFhir_FullMethodName:    readers,
		screeningv1.QuestionnaireService_GetQuestionnaireStats_FullMethodName:      readers,
	}
}

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "an API key is required")
	}
	return p, nil
}

var questionnaireIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// questionnaireID returns the id of "questionnaires/{id}", naming field when the name is malformed.
func questionnaireID(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "questionnaires/")
	if !ok || !questionnaireIDPattern.MatchString(id) {
		return "", apperr.InvalidField(field, "must be a questionnaire name like questionnaires/abc123 (got %q)", name)
	}
	return id, nil
}

// view is the full message of q with its draft's reachable range.
func view(q *domain.Questionnaire) *screeningv1.Questionnaire {
	lo, hi, err := q.Draft.Range()
	if err != nil { // a stored draft passed validation; show no range rather than fail a read
		lo, hi = 0, 0
	}
	return QuestionnaireToProto(q, lo, hi)
}

// viewWithLint is view plus what the clinical-claim lint finds in the draft now: every
// questionnaire the API returns carries its findings (revision snapshots do not).
func (s *QuestionnaireServer) viewWithLint(ctx context.Context, q *domain.Questionnaire) *screeningv1.Questionnaire {
	out := view(q)
	out.LintFindings = LintFindingsToProto(s.service.LintFindings(ctx, q))
	return out
}

func (s *QuestionnaireServer) CreateQuestionnaire(ctx context.Context, req *screeningv1.CreateQuestionnaireRequest) (*screeningv1.Questionnaire, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetQuestionnaire() == nil {
		return nil, apperr.InvalidField("questionnaire", "is required")
	}
	c, err := ContentFromProto(req.GetQuestionnaire(), "questionnaire.")
	if err != nil {
		return nil, err
	}
	q, err := s.service.Create(ctx, p, c)
	if err != nil {
		return nil, err
	}
	return s.viewWithLint(ctx, q), nil
}

func (s *QuestionnaireServer) GetQuestionnaire(ctx context.Context, req *screeningv1.GetQuestionnaireRequest) (*screeningv1.Questionnaire, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := questionnaireID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	q, err := s.service.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.viewWithLint(ctx, q), nil
}

// editableFields are the update_mask paths UpdateQuestionnaire accepts, and how each one takes
// the new value from the request into the draft.
var editableFields = map[string]func(dst *domain.Content, src domain.Content){
	"title":        func(d *domain.Content, s domain.Content) { d.Title = s.Title },
	"slug":         func(d *domain.Content, s domain.Content) { d.Slug = s.Slug },
	"description":  func(d *domain.Content, s domain.Content) { d.Description = s.Description },
	"instructions": func(d *domain.Content, s domain.Content) { d.Instructions = s.Instructions },
	"items":        func(d *domain.Content, s domain.Content) { d.Items = s.Items },
	"bands":        func(d *domain.Content, s domain.Content) { d.Bands = s.Bands },
	"disclaimer":   func(d *domain.Content, s domain.Content) { d.Disclaimer = s.Disclaimer },
	"source":       func(d *domain.Content, s domain.Content) { d.Source = s.Source },
	"target_sites": func(d *domain.Content, s domain.Content) { d.TargetSites = s.TargetSites },
	"acknowledgements": func(d *domain.Content, s domain.Content) {
		d.Acknowledgements = s.Acknowledgements
	},
}

// editableOrder lists editableFields in proto order, for an empty mask.
var editableOrder = []string{"title", "slug", "description", "instructions", "items", "bands", "disclaimer", "source", "target_sites", "acknowledgements"}

// maskPaths checks update_mask and returns its paths in proto names (camelCase paths are
// accepted too); an empty mask is every editable field.
func maskPaths(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return editableOrder, nil
	}
	var out []string
	var v apperr.Violations
	for i, p := range paths {
		name := camelToSnake(p)
		if _, ok := editableFields[name]; !ok {
			v.Add("update_mask.paths["+strconv.Itoa(i)+"]", "%q is not an editable field; want some of %s", p, strings.Join(editableOrder, ", "))
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, v.Err()
}

func camelToSnake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *QuestionnaireServer) UpdateQuestionnaire(ctx context.Context, req *screeningv1.UpdateQuestionnaireRequest) (*screeningv1.Questionnaire, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetQuestionnaire() == nil {
		return nil, apperr.InvalidField("questionnaire", "is required")
	}
	id, err := questionnaireID("questionnaire.name", req.GetQuestionnaire().GetName())
	if err != nil {
		return nil, err
	}
	paths, err := maskPaths(req.GetUpdateMask().GetPaths())
	if err != nil {
		return nil, err
	}
	in, err := ContentFromProto(req.GetQuestionnaire(), "questionnaire.")
	if err != nil {
		return nil, err
	}
	current, err := s.service.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	next := current.Draft.Clone()
	for _, path := range paths {
		editableFields[path](&next, in)
	}
	q, err := s.service.Update(ctx, p, id, req.GetQuestionnaire().GetEtag(), next, paths)
	if err != nil {
		return nil, err
	}
	return s.viewWithLint(ctx, q), nil
}

func (s *QuestionnaireServer) DeleteQuestionnaire(ctx context.Context, req *screeningv1.DeleteQuestionnaireRequest) (*screeningv1.Questionnaire, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := questionnaireID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	q, err := s.service.Delete(ctx, p, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return s.viewWithLint(ctx, q), nil
}

func (s *QuestionnaireServer) UndeleteQuestionnaire(ctx context.Context, req *screeningv1.UndeleteQuestionnaireRequest) (*screeningv1.Questionnaire, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := questionnaireID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	q, err := s.service.Undelete(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.viewWithLint(ctx, q), nil
}

func (s *QuestionnaireServer) PublishQuestionnaire(ctx context.Context, req *screeningv1.PublishQuestionnaireRequest) (*screeningv1.Questionnaire, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := questionnaireID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	q, err := s.service.Publish(ctx, p, id, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return s.viewWithLint(ctx, q), nil
}

func (s *QuestionnaireServer) ListQuestionnaireRevisions(ctx context.Context, req *screeningv1.ListQuestionnaireRevisionsRequest) (*screeningv1.ListQuestionnaireRevisionsResponse, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := questionnaireID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	size, err := pagetoken.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	revs, next, err := pagetoken.PageBefore(s.tokens, pagetoken.Scope("ListQuestionnaireRevisions", p.KeyName, id), req.GetPageToken(), size,
		func(r domain.Revision) int64 { return r.RevisionID },
		func(before int64, limit int) ([]domain.Revision, error) {
			return s.service.ListRevisions(ctx, p, id, before, limit)
		})
	if err != nil {
		return nil, err
	}
	resp := &screeningv1.ListQuestionnaireRevisionsResponse{NextPageToken: next}
	for _, rev := range revs {
		q := rev.Questionnaire
		resp.Revisions = append(resp.Revisions, &screeningv1.QuestionnaireRevision{
			Name: q.Name() + "/revisions/" + strconv.FormatInt(rev.RevisionID, 10), RevisionId: rev.RevisionID,
			Actor: rev.Change.Actor, CreateTime: timestampOrNil(rev.Change.Time), Action: rev.Change.Action,
			ChangedFields: rev.Change.Fields, Snapshot: view(&q),
		})
	}
	return resp, nil
}

// listPageToken is what a ListQuestionnaires page token carries: the last item's sort key and id.
type listPageToken struct {
	Time time.Time `json:"t,omitzero"`
	Text string    `json:"s,omitempty"`
	ID   string    `json:"i"`
}

// orderings are the orders ListQuestionnaires accepts: a less function (ascending) and the sort
// key of a questionnaire for page tokens.
var orderings = map[string]struct {
	less func(a, b *domain.Questionnaire) bool
	key  func(q *domain.Questionnaire) listPageToken
}{
	"update_time": {func(a, b *domain.Questionnaire) bool { return a.UpdateTime.Before(b.UpdateTime) },
		func(q *domain.Questionnaire) listPageToken { return listPageToken{Time: q.UpdateTime, ID: q.ID} }},
	"create_time": {func(a, b *domain.Questionnaire) bool { return a.CreateTime.Before(b.CreateTime) },
		func(q *domain.Questionnaire) listPageToken { return listPageToken{Time: q.CreateTime, ID: q.ID} }},
	"publish_time": {func(a, b *domain.Questionnaire) bool { return a.PublishTime.Before(b.PublishTime) },
		func(q *domain.Questionnaire) listPageToken { return listPageToken{Time: q.PublishTime, ID: q.ID} }},
	"title": {func(a, b *domain.Questionnaire) bool { return a.Draft.Title < b.Draft.Title },
		func(q *domain.Questionnaire) listPageToken { return listPageToken{Text: q.Draft.Title, ID: q.ID} }},
}

// fromToken rebuilds a questionnaire carrying only a page token's sort key, to compare against.
func fromToken(t listPageToken) *domain.Questionnaire {
	q := &domain.Questionnaire{ID: t.ID, UpdateTime: t.Time, CreateTime: t.Time, PublishTime: t.Time}
	q.Draft.Title = t.Text
	return q
}

// parseOrderBy accepts one field with an optional " desc" / " asc"; the default is "update_time desc".
func parseOrderBy(s string) (string, bool, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return "update_time", true, nil
	}
	if _, ok := orderings[words[0]]; !ok || len(words) > 2 || (len(words) == 2 && words[1] != "desc" && words[1] != "asc") {
		return "", false, apperr.InvalidField("order_by", "must be one of update_time, create_time, publish_time, title, optionally followed by \" desc\" (got %q)", s)
	}
	return words[0], len(words) == 2 && words[1] == "desc", nil
}

func (s *QuestionnaireServer) ListQuestionnaires(ctx context.Context, req *screeningv1.ListQuestionnairesRequest) (*screeningv1.ListQuestionnairesResponse, error) {
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
	less := func(a, b *domain.Questionnaire) bool {
		if desc {
			return ordering.less(b, a)
		}
		return ordering.less(a, b)
	}
	lessWithID := func(a, b *domain.Questionnaire) bool {
		if less(a, b) {
			return true
		}
		return !less(b, a) && a.ID < b.ID
	}
	q := domain.ListQuery{ShowDeleted: req.GetShowDeleted(), Match: compileFilter(conds), Less: less, Limit: size + 1}
	scope := pagetoken.Scope("ListQuestionnaires", p.KeyName, req.GetFilter(), req.GetOrderBy(), strconv.FormatBool(req.GetShowDeleted()))
	if req.GetPageToken() != "" {
		var tok listPageToken
		if err := s.tokens.Decode(req.GetPageToken(), scope, &tok); err != nil {
			return nil, err
		}
		cursor := fromToken(tok)
		q.After = func(x *domain.Questionnaire) bool { return lessWithID(cursor, x) }
	}
	list, err := s.service.List(ctx, p, q)
	if err != nil {
		return nil, err
	}
	resp := &screeningv1.ListQuestionnairesResponse{}
	if len(list) > size {
		list = list[:size]
		if resp.NextPageToken, err = s.tokens.Encode(scope, ordering.key(list[size-1])); err != nil {
			return nil, err
		}
	}
	for _, x := range list {
		resp.Questionnaires = append(resp.Questionnaires, s.viewWithLint(ctx, x))
	}
	return resp, nil
}

// compileFilter turns filter conditions into one match function (all must hold). site matches
// the draft's or the live version's sites; slug the draft's or the live slug.
func compileFilter(conds []listfilter.Condition) func(*domain.Questionnaire) bool {
	var tests []func(*domain.Questionnaire) bool
	for _, c := range conds {
		eq := c.Op == listfilter.Eq
		switch c.Field {
		case "state":
			want := map[string]domain.State{"DRAFT": domain.StateDraft, "PUBLISHED": domain.StatePublished}[c.Value]
			tests = append(tests, func(q *domain.Questionnaire) bool { return (q.State == want) == eq })
		case "site":
			site := strings.TrimPrefix(c.Value, "sites/")
			tests = append(tests, func(q *domain.Questionnaire) bool {
				return (slices.Contains(q.Draft.TargetSites, site) || slices.Contains(q.LiveSites, site)) == eq
			})
		case "slug":
			tests = append(tests, func(q *domain.Questionnaire) bool { return (q.Draft.Slug == c.Value || q.LiveSlug == c.Value) == eq })
		case "update_time", "create_time", "publish_time":
			get := map[string]func(*domain.Questionnaire) time.Time{
				"update_time":  func(q *domain.Questionnaire) time.Time { return q.UpdateTime },
				"create_time":  func(q *domain.Questionnaire) time.Time { return q.CreateTime },
				"publish_time": func(q *domain.Questionnaire) time.Time { return q.PublishTime },
			}[c.Field]
			tests = append(tests, func(q *domain.Questionnaire) bool { return compareTime(get(q), c.Op, c.Time) })
		}
	}
	return func(q *domain.Questionnaire) bool {
		for _, t := range tests {
			if !t(q) {
				return false
			}
		}
		return true
	}
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

func (s *QuestionnaireServer) ExportQuestionnaireFhir(ctx context.Context, req *screeningv1.ExportQuestionnaireFhirRequest) (*httpbody.HttpBody, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := questionnaireID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	var meta fhir.Meta
	var c domain.Content
	if req.GetVersion() == 0 {
		q, err := s.service.Get(ctx, p, id)
		if err != nil {
			return nil, err
		}
		meta = fhir.Meta{ID: id, Version: q.Version, Published: q.DraftIsPublished(), PublishTime: q.PublishTime}
		c = q.Draft
	} else {
		v, err := s.service.GetVersion(ctx, p, id, req.GetVersion())
		if err != nil {
			return nil, err
		}
		meta = fhir.Meta{ID: id, Version: v.Number, Published: true, PublishTime: v.PublishTime}
		c = v.Content
	}
	raw, err := fhir.Export(meta, c)
	if err != nil {
		return nil, err
	}
	return &httpbody.HttpBody{ContentType: "application/fhir+json", Data: raw}, nil
}

const dayLayout = "2006-01-02"

func (s *QuestionnaireServer) GetQuestionnaireStats(ctx context.Context, req *screeningv1.GetQuestionnaireStatsRequest) (*screeningv1.QuestionnaireStats, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	id, err := questionnaireID("name", req.GetName())
	if err != nil {
		return nil, err
	}
	if _, err := s.service.Get(ctx, p, id); err != nil {
		return nil, err
	}
	to := req.GetTo()
	if to == "" {
		to = s.now().UTC().Format(dayLayout)
	}
	from := req.GetFrom()
	if from == "" {
		t, err := time.Parse(dayLayout, to)
		if err != nil {
			return nil, apperr.InvalidField("to", "must be a day like 2026-12-01")
		}
		from = t.AddDate(0, 0, -defaultStatsDays).Format(dayLayout)
	}
	rep, err := s.stats.Stats(ctx, id, from, to, p.Site)
	if err != nil {
		return nil, err
	}
	return StatsToProto(id, from, to, rep), nil
}
