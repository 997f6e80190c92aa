// Package api is the content service's gRPC surface: it converts between protobuf messages and
// domain types and calls the domain service. It never maps errors itself; handlers return apperr
// errors and platform/grpcserver turns them into statuses.
package api

import (
	"strings"
	"time"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/platform/siteid"
	"github.com/beaconcms/beacon/services/content/internal/domain"
	"google.golang.org/genproto/googleapis/type/date"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// siteIDFromName parses "sites/{id}", naming field in errors.
func siteIDFromName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "sites/")
	if !ok || !siteid.Valid(id) {
		return "", apperr.InvalidField(field, "must be a site name like sites/kratom-help, got %q", name)
	}
	return id, nil
}

// articleIDFromName parses "articles/{id}", naming field in errors.
func articleIDFromName(field, name string) (string, error) {
	id, ok := strings.CutPrefix(name, "articles/")
	if !ok || id == "" || len(id) > 64 || strings.ContainsAny(id, "/$.\x00 ") {
		return "", apperr.InvalidField(field, "must be an article name like articles/abc123, got %q", name)
	}
	return id, nil
}

func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func toProtoDate(d domain.Date) *date.Date {
	if d.IsZero() {
		return nil
	}
	return &date.Date{Year: int32(d.Year), Month: int32(d.Month), Day: int32(d.Day)}
}

func fromProtoDate(d *date.Date) domain.Date {
	if d == nil {
		return domain.Date{}
	}
	return domain.Date{Year: int(d.GetYear()), Month: int(d.GetMonth()), Day: int(d.GetDay())}
}

func toProtoPerson(p domain.Person) *contentv1.Person {
	if p.IsZero() {
		return nil
	}
	return &contentv1.Person{DisplayName: p.DisplayName, Credentials: p.Credentials, Url: p.URL, Fictional: p.Fictional}
}

func fromProtoPerson(p *contentv1.Person) domain.Person {
	return domain.Person{DisplayName: p.GetDisplayName(), Credentials: p.GetCredentials(), URL: p.GetUrl(), Fictional: p.GetFictional()}
}

var roleToProto = map[domain.ReviewerRole]contentv1.Reviewer_Role{
	domain.RoleClinical:        contentv1.Reviewer_ROLE_CLINICAL,
	domain.RoleEditorial:       contentv1.Reviewer_ROLE_EDITORIAL,
	domain.RoleLivedExperience: contentv1.Reviewer_ROLE_LIVED_EXPERIENCE,
}

func toProtoReviewer(r domain.Reviewer) *contentv1.Reviewer {
	return &contentv1.Reviewer{DisplayName: r.DisplayName, Credentials: r.Credentials, Url: r.URL, Fictional: r.Fictional,
		Role: roleToProto[r.Role], ReviewDate: toProtoDate(r.ReviewDate)}
}

// fromProtoReviewer converts a reviewer; an unknown role becomes 0, which validation refuses
// naming the field.
func fromProtoReviewer(r *contentv1.Reviewer) domain.Reviewer {
	out := domain.Reviewer{
		Person:     domain.Person{DisplayName: r.GetDisplayName(), Credentials: r.GetCredentials(), URL: r.GetUrl(), Fictional: r.GetFictional()},
		ReviewDate: fromProtoDate(r.GetReviewDate()),
	}
	for role, p := range roleToProto {
		if p == r.GetRole() {
			out.Role = role
		}
	}
	return out
}

// toProtoContent fills the editable fields of an Article message from c.
func toProtoContent(c domain.Content) *contentv1.Article {
	out := &contentv1.Article{
		Title:            c.Title,
		Slug:             c.Slug,
		Summary:          c.Summary,
		Body:             c.Body,
		Tags:             c.Tags,
		Topics:           c.Topics,
		MedicalReviewer:  toProtoPerson(domain.MedicalReviewer(c.Reviewers)),
		LastReviewedDate: toProtoDate(c.LastReviewedDate),
		EditorNotes:      c.EditorNotes,
		Acknowledgements: toProtoAcknowledgements(c.Acknowledgements),
	}
	for _, a := range c.Authors {
		out.Authors = append(out.Authors, toProtoPerson(a))
	}
	for _, r := range c.Reviewers {
		out.Reviewers = append(out.Reviewers, toProtoReviewer(r))
	}
	for _, ct := range c.Citations {
		out.Citations = append(out.Citations, &contentv1.Citation{Title: ct.Title, Url: ct.URL, Doi: ct.DOI, Pmid: ct.PMID, AccessedDate: toProtoDate(ct.AccessedDate)})
	}
	if c.SEO != (domain.SEO{}) {
		out.Seo = &contentv1.Seo{MetaTitle: c.SEO.MetaTitle, MetaDescription: c.SEO.MetaDescription, CanonicalUrl: c.SEO.CanonicalURL, SocialImageUrl: c.SEO.SocialImageURL}
	}
	for _, s := range c.TargetSites {
		out.TargetSites = append(out.TargetSites, "sites/"+s)
	}
	return out
}

// fromProtoContent reads the editable fields of an Article message. Target sites must be site names.
// The deprecated medical_reviewer maps to the first clinical reviewer: alone, it becomes that
// reviewer; beside reviewers, it must equal that reviewer (as an article read back carries it).
func fromProtoContent(a *contentv1.Article) (domain.Content, error) {
	c := domain.Content{
		Title:            a.GetTitle(),
		Slug:             a.GetSlug(),
		Summary:          a.GetSummary(),
		Body:             a.GetBody(),
		Tags:             a.GetTags(),
		Topics:           a.GetTopics(),
		LastReviewedDate: fromProtoDate(a.GetLastReviewedDate()),
		EditorNotes:      a.GetEditorNotes(),
		Acknowledgements: fromProtoAcknowledgements(a.GetAcknowledgements()),
		SEO: domain.SEO{
			MetaTitle:       a.GetSeo().GetMetaTitle(),
			MetaDescription: a.GetSeo().GetMetaDescription(),
			CanonicalURL:    a.GetSeo().GetCanonicalUrl(),
			SocialImageURL:  a.GetSeo().GetSocialImageUrl(),
		},
	}
	var v apperr.Violations
	for _, r := range a.GetReviewers() {
		c.Reviewers = append(c.Reviewers, fromProtoReviewer(r))
	}
	if a.GetMedicalReviewer() != nil {
		mr := fromProtoPerson(a.GetMedicalReviewer())
		switch {
		case len(c.Reviewers) == 0:
			c.Reviewers = domain.WithMedicalReviewer(nil, mr)
		case domain.MedicalReviewer(c.Reviewers) != mr:
			v.Add("article.medical_reviewer", "is deprecated and differs from the first ROLE_CLINICAL reviewer; set reviewers only")
		}
	}
	for _, p := range a.GetAuthors() {
		c.Authors = append(c.Authors, fromProtoPerson(p))
	}
	for _, ct := range a.GetCitations() {
		c.Citations = append(c.Citations, domain.Citation{Title: ct.GetTitle(), URL: ct.GetUrl(), DOI: ct.GetDoi(), PMID: ct.GetPmid(), AccessedDate: fromProtoDate(ct.GetAccessedDate())})
	}
	for i, name := range a.GetTargetSites() {
		id, ok := strings.CutPrefix(name, "sites/")
		if !ok || !siteid.Valid(id) {
			v.Add("article.target_sites["+itoa(i)+"]", "must be a site name like sites/kratom-help, got %q", name)
			continue
		}
		c.TargetSites = append(c.TargetSites, id)
	}
	return c, v.Err()
}

var stateToProto = map[domain.State]contentv1.Article_State{
	domain.StateDraft:     contentv1.Article_STATE_DRAFT,
	domain.StateScheduled: contentv1.Article_STATE_SCHEDULED,
	domain.StatePublished: contentv1.Article_STATE_PUBLISHED,
	domain.StateArchived:  contentv1.Article_STATE_ARCHIVED,
}

func toProtoRendering(r markdown.Rendering) *contentv1.Rendering {
	out := &contentv1.Rendering{
		Html:               r.HTML,
		WordCount:          int32(r.WordCount),
		ReadingTimeMinutes: int32(r.ReadingTimeMinutes),
		FleschReadingEase:  r.FleschReadingEase,
	}
	for _, e := range r.TOC {
		out.TableOfContents = append(out.TableOfContents, &contentv1.TocEntry{Level: int32(e.Level), Text: e.Text, Anchor: e.Anchor})
	}
	return out
}

// toProtoArticle is the management view: the working draft, its rendering, and lifecycle data.
func toProtoArticle(a *domain.Article) *contentv1.Article {
	out := toProtoContent(a.Draft)
	out.Name = a.Name()
	out.State = stateToProto[a.State]
	out.Etag = a.Etag()
	out.CreateTime = timestampOrNil(a.CreateTime)
	out.UpdateTime = timestampOrNil(a.UpdateTime)
	if a.Published != nil {
		out.PublishTime = timestampOrNil(a.Published.PublishTime)
	}
	out.ScheduledPublishTime = timestampOrNil(a.ScheduledPublishTime)
	out.DeleteTime = timestampOrNil(a.DeleteTime)
	out.RevisionId = a.RevisionID
	out.PublishedRevisionId = a.PublishedRevisionID()
	out.Rendering = toProtoRendering(a.Rendering)
	out.Creator = a.Creator
	out.LiveSnapshotOnly = a.LiveSnapshotOnly
	out.ReviewDueTime = timestampOrNil(a.ReviewDueTime)
	out.LintFindings = toProtoLintFindings(a.LintFindings)
	out.ScheduleFailure = toProtoScheduleFailure(a.ScheduleFailure)
	return out
}

// toProtoScheduleFailure converts why a schedule was dropped; nil when it was not.
func toProtoScheduleFailure(f *domain.ScheduleFailure) *contentv1.ScheduleFailure {
	if f == nil {
		return nil
	}
	out := &contentv1.ScheduleFailure{FailTime: timestampOrNil(f.FailTime), ScheduledPublishTime: timestampOrNil(f.ScheduledPublishTime)}
	for _, u := range f.Unmet {
		out.UnmetRules = append(out.UnmetRules, &contentv1.UnmetRule{Type: u.Rule, Subject: u.Field, Description: u.Description})
	}
	return out
}

// toProtoBasicArticle is the basic view of a (ArticleView BASIC): no body, rendering,
// citations, SEO or editor notes.
func toProtoBasicArticle(a *domain.Article) *contentv1.Article {
	out := toProtoArticle(a.Basic())
	out.Rendering = nil
	out.Seo = nil
	return out
}

func toProtoRevision(r domain.Revision) *contentv1.Revision {
	snap := toProtoContent(r.Content)
	snap.Name = "articles/" + r.ArticleID
	snap.State = stateToProto[r.State]
	snap.RevisionId = r.RevisionID
	return &contentv1.Revision{
		Name:          "articles/" + r.ArticleID + "/revisions/" + itoa64(r.RevisionID),
		RevisionId:    r.RevisionID,
		Actor:         r.Change.Actor,
		CreateTime:    timestampOrNil(r.Change.Time),
		Action:        r.Change.Action,
		ChangedFields: r.Change.Fields,
		Snapshot:      snap,
	}
}
