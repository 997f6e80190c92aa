package store

import (
	"fmt"
	"reflect"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/markdown"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// The stored documents. They are this package's own types, joined to the domain types only through
// the to*/from* converters below, so that renaming a domain field never silently changes what is
// stored. Every document carries schemaVersion; a from* converter refuses a version it does not know
// (a document written by a newer release) instead of guessing.
//
// Times are BSON dates (UTC, millisecond precision). Optional times are null when unset, never the
// zero time, so that range filters and sorts treat "unset" consistently.

// The schema versions this release reads and writes.
const (
	// articleSchemaVersion 2: a live snapshot identical to the draft is stored as sameAsDraft,
	// without its content and rendering (1 always stored them). This release reads both.
	//
	// articleSchemaVersion 3 and revisionSchemaVersion 2: content holds reviewers (several, each
	// with a role and a date) instead of one medicalReviewer. Older documents are read with their
	// medicalReviewer as the one clinical reviewer (readContentDoc); older releases refuse the
	// new versions rather than drop the reviewers on their next write.
	//
	// articleSchemaVersion 4: the renderings' HTML is stored zstd-compressed in htmlZstd (see
	// packing.go); older documents, with it as text in html, are read as they are.
	//
	// articleSchemaVersion 5: a rendering's textZstd holds its content's Markdown body and its
	// HTML, compressed together (packing.go), and the article carries no revisionPending flag
	// (the pending_revisions marker alone is the outbox). revisionSchemaVersion 3: the content's
	// body is stored compressed in bodyZstd. Older documents are read as they are.
	articleSchemaVersion  = 5
	revisionSchemaVersion = 3
	claimSchemaVersion    = 1
)

// articleDoc is an article in the articles collection.
type articleDoc struct {
	ID            string       `bson:"_id"`
	SchemaVersion int          `bson:"schemaVersion"`
	Draft         contentDoc   `bson:"draft"`
	Rendering     renderingDoc `bson:"rendering"`
	// State is the state's name ("DRAFT", "PUBLISHED", ...), as filters name it.
	State string `bson:"state"`
	// Revision is the article's RevisionID; conditional writes filter on it.
	Revision             int64        `bson:"revision"`
	CreateTime           time.Time    `bson:"createTime"`
	UpdateTime           time.Time    `bson:"updateTime"`
	ScheduledPublishTime *time.Time   `bson:"scheduledPublishTime"`
	DeleteTime           *time.Time   `bson:"deleteTime"`
	Published            *snapshotDoc `bson:"published"`
	Creator              string       `bson:"creator"`
	LastChange           changeDoc    `bson:"lastChange"`
	PublishedSlugs       []string     `bson:"publishedSlugs"`
	// ScheduleFailure is set when the scheduler dropped a schedule whose draft failed the
	// publish checks; absent otherwise (and in articles written before it existed).
	ScheduleFailure *scheduleFailureDoc `bson:"scheduleFailure,omitempty"`

	// Derived fields, written only for queries and never read back into the domain.

	// PublishTime is Published.PublishTime, or null when Published is nil: the value of the
	// publish_time filter and order.
	PublishTime *time.Time `bson:"publishTime"`
	// AuthorNames are the draft authors' display names, for the author filter ($elemMatch on
	// arrays of subdocuments is broken on FerretDB v1, so query a flat array instead).
	AuthorNames []string `bson:"authorNames"`
	// LiveSites are the live snapshot's target sites (empty when nothing is live), which
	// published.content does not hold when the snapshot is the draft (sameAsDraft).
	LiveSites []string `bson:"liveSites"`

	// liveSearchText is the live snapshot's search text, carried from the domain to the live
	// entry (toLiveDoc); never stored in the article. Empty in a document read back.
	liveSearchText string `bson:"-"`
}

// scheduleFailureDoc is a domain.ScheduleFailure.
type scheduleFailureDoc struct {
	FailTime             time.Time      `bson:"failTime"`
	ScheduledPublishTime time.Time      `bson:"scheduledPublishTime"`
	Unmet                []unmetRuleDoc `bson:"unmet"`
}

// unmetRuleDoc is one rule a draft failed: its type, subject (the field) and description.
type unmetRuleDoc struct {
	Rule        string `bson:"rule"`
	Field       string `bson:"field"`
	Description string `bson:"description"`
}

func toScheduleFailureDoc(f *domain.ScheduleFailure) *scheduleFailureDoc {
	if f == nil {
		return nil
	}
	d := &scheduleFailureDoc{FailTime: toTime(f.FailTime), ScheduledPublishTime: toTime(f.ScheduledPublishTime), Unmet: []unmetRuleDoc{}}
	for _, u := range f.Unmet {
		d.Unmet = append(d.Unmet, unmetRuleDoc{Rule: u.Rule, Field: u.Field, Description: u.Description})
	}
	return d
}

func fromScheduleFailureDoc(d *scheduleFailureDoc) *domain.ScheduleFailure {
	if d == nil {
		return nil
	}
	f := &domain.ScheduleFailure{FailTime: fromTime(d.FailTime), ScheduledPublishTime: fromTime(d.ScheduledPublishTime)}
	for _, u := range d.Unmet {
		f.Unmet = append(f.Unmet, apperr.FieldViolation{Rule: u.Rule, Field: u.Field, Description: u.Description})
	}
	return f
}

// contentDoc is a domain.Content: a draft, a revision's content or a snapshot's content.
type contentDoc struct {
	Title     string        `bson:"title"`
	Slug      string        `bson:"slug"`
	Summary   string        `bson:"summary"`
	Body      string        `bson:"body"`
	Tags      []string      `bson:"tags"`
	Topics    []string      `bson:"topics"`
	Authors   []personDoc   `bson:"authors"`
	Reviewers []reviewerDoc `bson:"reviewers,omitempty"`
	// MedicalReviewer is read from documents of article schema 1 and 2 and revision schema 1
	// only (it became the first clinical reviewer); never written.
	MedicalReviewer  *personDoc    `bson:"medicalReviewer,omitempty"`
	LastReviewedDate *dateDoc      `bson:"lastReviewedDate"`
	Citations        []citationDoc `bson:"citations"`
	SEO              seoDoc        `bson:"seo"`
	TargetSites      []string      `bson:"targetSites"`
	EditorNotes      string        `bson:"editorNotes"`
	// Acknowledgements of lint warnings; absent in documents written before they existed.
	Acknowledgements []acknowledgementDoc `bson:"acknowledgements,omitempty"`
}

type acknowledgementDoc struct {
	RuleID   string `bson:"ruleId"`
	Match    string `bson:"match"`
	Reviewer string `bson:"reviewer"`
	Reason   string `bson:"reason"`
}

type personDoc struct {
	DisplayName string `bson:"displayName"`
	Credentials string `bson:"credentials"`
	URL         string `bson:"url"`
	Fictional   bool   `bson:"fictional,omitempty"`
}

// reviewerDoc is a domain.Reviewer.
type reviewerDoc struct {
	Person     personDoc `bson:",inline"`
	Role       string    `bson:"role"` // "clinical", "editorial", "lived_experience"
	ReviewDate *dateDoc  `bson:"reviewDate"`
}

var reviewerRoles = map[domain.ReviewerRole]string{
	domain.RoleClinical:        "clinical",
	domain.RoleEditorial:       "editorial",
	domain.RoleLivedExperience: "lived_experience",
}

func toReviewerDoc(r domain.Reviewer) reviewerDoc {
	return reviewerDoc{Person: toPersonDoc(r.Person), Role: reviewerRoles[r.Role], ReviewDate: toDateDoc(r.ReviewDate)}
}

// fromReviewerDoc returns the reviewer; a role this release does not know (which a known
// schema version never holds) comes back as 0, which validation refuses on the next write
// rather than guessing a role.
func fromReviewerDoc(d reviewerDoc) domain.Reviewer {
	r := domain.Reviewer{Person: fromPersonDoc(d.Person), ReviewDate: fromDateDoc(d.ReviewDate)}
	for role, name := range reviewerRoles {
		if name == d.Role {
			r.Role = role
		}
	}
	return r
}

// dateDoc is a calendar date; null (a nil *dateDoc) when unset.
type dateDoc struct {
	Year  int `bson:"year"`
	Month int `bson:"month"`
	Day   int `bson:"day"`
}

type citationDoc struct {
	Title        string   `bson:"title"`
	URL          string   `bson:"url"`
	DOI          string   `bson:"doi"`
	PMID         string   `bson:"pmid"`
	AccessedDate *dateDoc `bson:"accessedDate"`
}

type seoDoc struct {
	MetaTitle       string `bson:"metaTitle"`
	MetaDescription string `bson:"metaDescription"`
	CanonicalURL    string `bson:"canonicalUrl"`
	SocialImageURL  string `bson:"socialImageUrl"`
}

type renderingDoc struct {
	// HTML is the rendered HTML; in the articles collection it is stored compressed, in HTMLZstd,
	// since articleSchemaVersion 4 (see packing.go), and is then absent.
	HTML     string `bson:"html,omitempty"`
	HTMLZstd []byte `bson:"htmlZstd,omitempty"`
	// TextZstd, in the articles collection since articleSchemaVersion 5, holds the content's
	// Markdown body, this HTML and this TOC (a packedTextDoc, see packing.go); they are then
	// absent.
	TextZstd           []byte     `bson:"textZstd,omitempty"`
	TOC                []tocEntry `bson:"toc,omitempty"`
	WordCount          int        `bson:"wordCount"`
	ReadingTimeMinutes int        `bson:"readingTimeMinutes"`
	FleschReadingEase  float64    `bson:"fleschReadingEase"`
}

type tocEntry struct {
	Level  int    `bson:"level"`
	Text   string `bson:"text"`
	Anchor string `bson:"anchor"`
}

// snapshotDoc is a domain.Snapshot, embedded in its article.
type snapshotDoc struct {
	Content     contentDoc   `bson:"content"`
	Rendering   renderingDoc `bson:"rendering"`
	RevisionID  int64        `bson:"revisionId"`
	PublishTime time.Time    `bson:"publishTime"`
	// SameAsDraft says the snapshot's content is the article's draft without its editor notes,
	// and its rendering the draft's: Content and Rendering are then left empty (the common case of
	// an article published and not edited since, which would otherwise store its body and HTML
	// twice).
	SameAsDraft bool `bson:"sameAsDraft,omitempty"`
	// SearchText is domain.Snapshot.SearchText, stored only in article_live (see liveDoc).
	SearchText string `bson:"searchText,omitempty"`
}

type changeDoc struct {
	Actor  string    `bson:"actor"`
	Action string    `bson:"action"`
	Fields []string  `bson:"fields"`
	Time   time.Time `bson:"time"`
}

// revisionDoc is a domain.Revision in the article_revisions collection, _id "articleId/revisionId".
type revisionDoc struct {
	ID            string     `bson:"_id,omitempty"` // omitted only in the $setOnInsert of recordRevision
	SchemaVersion int        `bson:"schemaVersion"`
	ArticleID     string     `bson:"articleId"`
	RevisionID    int64      `bson:"revisionId"`
	Change        changeDoc  `bson:"change"`
	Content       contentDoc `bson:"content"`
	State         string     `bson:"state"`
	// BodyZstd, since revisionSchemaVersion 3, is Content.Body zstd-compressed (Content.Body is
	// then absent); see snapshotCodec.storedRevision.
	BodyZstd []byte `bson:"bodyZstd,omitempty"`
}

// claimDoc is a slug claim in the slug_claims collection: _id "site/slug" (a key of
// domain.Article.SlugKeys) is held by ArticleID, or by nobody when ArticleID is empty (released).
// See claims.go for the protocol.
type claimDoc struct {
	Key           string `bson:"_id"`
	SchemaVersion int    `bson:"schemaVersion"`
	ArticleID     string `bson:"articleId"`
	// Revision is the article revision the last writer to claim or confirm the key was writing.
	Revision int64 `bson:"revision"`
	// Token identifies that writer's operation; a writer releases only claims still bearing its token.
	Token string `bson:"token"`
	// ClaimedAt is when that writer claimed it; a claim younger than the lease is never taken over.
	ClaimedAt time.Time `bson:"claimedAt"`
}

// ---- articles ----

func toArticleDoc(a *domain.Article) (articleDoc, error) {
	state, err := toState(a.State)
	if err != nil {
		return articleDoc{}, fmt.Errorf("article %s: %w", a.ID, err)
	}
	d := articleDoc{
		ID:                   a.ID,
		SchemaVersion:        articleSchemaVersion,
		Draft:                toContentDoc(a.Draft),
		Rendering:            toRenderingDoc(a.Rendering),
		State:                state,
		Revision:             a.RevisionID,
		CreateTime:           toTime(a.CreateTime),
		UpdateTime:           toTime(a.UpdateTime),
		ScheduledPublishTime: toOptionalTime(a.ScheduledPublishTime),
		DeleteTime:           toOptionalTime(a.DeleteTime),
		Creator:              a.Creator,
		LastChange:           toChangeDoc(a.LastChange),
		PublishedSlugs:       nonNil(a.PublishedSlugs),
		ScheduleFailure:      toScheduleFailureDoc(a.ScheduleFailure),
		AuthorNames:          make([]string, 0, len(a.Draft.Authors)),
	}
	if a.Published != nil {
		snap := toSnapshotDoc(*a.Published)
		if snapshotIsDraft(a) {
			snap.Content, snap.Rendering, snap.SameAsDraft = contentDoc{}, renderingDoc{}, true
		}
		d.liveSearchText, snap.SearchText = snap.SearchText, ""
		d.Published = &snap
		d.PublishTime = &snap.PublishTime
		d.LiveSites = nonNil(a.Published.Content.TargetSites)
	} else {
		d.LiveSites = []string{}
	}
	for _, p := range a.Draft.Authors {
		d.AuthorNames = append(d.AuthorNames, p.DisplayName)
	}
	return d, nil
}

// snapshotIsDraft reports whether a's live snapshot is its draft without editor notes, rendered
// as the draft is.
func snapshotIsDraft(a *domain.Article) bool {
	draft := a.Draft
	draft.EditorNotes = ""
	return reflect.DeepEqual(a.Published.Content, draft) && reflect.DeepEqual(a.Published.Rendering, a.Rendering)
}

// publishedSnapshot returns the live snapshot with its content and rendering, also when they are
// stored as the draft's (sameAsDraft); nil when nothing is live.
func (d *articleDoc) publishedSnapshot() *snapshotDoc {
	if d.Published == nil || !d.Published.SameAsDraft {
		return d.Published
	}
	snap := *d.Published
	snap.Content, snap.Rendering, snap.SameAsDraft = d.Draft, d.Rendering, false
	snap.Content.EditorNotes = ""
	return &snap
}

// readableArticleSchema reports whether this release reads article documents of version v.
func readableArticleSchema(v int) bool { return v >= 1 && v <= articleSchemaVersion }

func fromArticleDoc(d *articleDoc) (*domain.Article, error) {
	if d.Rendering.packed() || (d.Published != nil && d.Published.Rendering.packed()) {
		return nil, fmt.Errorf("article %s: its stored HTML was not restored (snapshotCodec.readArticle)", d.ID)
	}
	if !readableArticleSchema(d.SchemaVersion) {
		return nil, fmt.Errorf("article %s: unknown schemaVersion %d (this release reads 1 to %d)", d.ID, d.SchemaVersion, articleSchemaVersion)
	}
	state, err := fromState(d.State)
	if err != nil {
		return nil, fmt.Errorf("article %s: %w", d.ID, err)
	}
	a := &domain.Article{
		ID:                   d.ID,
		Draft:                fromContentDoc(d.Draft),
		Rendering:            fromRenderingDoc(d.Rendering),
		State:                state,
		RevisionID:           d.Revision,
		CreateTime:           fromTime(d.CreateTime),
		UpdateTime:           fromTime(d.UpdateTime),
		ScheduledPublishTime: fromOptionalTime(d.ScheduledPublishTime),
		DeleteTime:           fromOptionalTime(d.DeleteTime),
		Creator:              d.Creator,
		LastChange:           fromChangeDoc(d.LastChange),
		PublishedSlugs:       nilIfEmpty(d.PublishedSlugs),
		ScheduleFailure:      fromScheduleFailureDoc(d.ScheduleFailure),
	}
	if p := d.publishedSnapshot(); p != nil {
		snap := fromSnapshotDoc(*p)
		a.Published = &snap
	}
	return a, nil
}

func toState(s domain.State) (string, error) {
	if s < domain.StateDraft || s > domain.StateArchived {
		return "", fmt.Errorf("invalid state %d", int(s))
	}
	return s.String(), nil
}

func fromState(name string) (domain.State, error) {
	s, ok := domain.ParseState(name)
	if !ok {
		return 0, fmt.Errorf("unknown state %q", name)
	}
	return s, nil
}

func toContentDoc(c domain.Content) contentDoc {
	d := contentDoc{
		Title:            c.Title,
		Slug:             c.Slug,
		Summary:          c.Summary,
		Body:             c.Body,
		Tags:             nonNil(c.Tags),
		Topics:           nonNil(c.Topics),
		Authors:          make([]personDoc, 0, len(c.Authors)),
		LastReviewedDate: toDateDoc(c.LastReviewedDate),
		Citations:        make([]citationDoc, 0, len(c.Citations)),
		SEO: seoDoc{
			MetaTitle:       c.SEO.MetaTitle,
			MetaDescription: c.SEO.MetaDescription,
			CanonicalURL:    c.SEO.CanonicalURL,
			SocialImageURL:  c.SEO.SocialImageURL,
		},
		TargetSites: nonNil(c.TargetSites),
		EditorNotes: c.EditorNotes,
	}
	for _, p := range c.Authors {
		d.Authors = append(d.Authors, toPersonDoc(p))
	}
	for _, r := range c.Reviewers {
		d.Reviewers = append(d.Reviewers, toReviewerDoc(r))
	}
	for _, a := range c.Acknowledgements {
		d.Acknowledgements = append(d.Acknowledgements, acknowledgementDoc{RuleID: a.RuleID, Match: a.Match, Reviewer: a.Reviewer, Reason: a.Reason})
	}
	for _, ct := range c.Citations {
		d.Citations = append(d.Citations, citationDoc{
			Title:        ct.Title,
			URL:          ct.URL,
			DOI:          ct.DOI,
			PMID:         ct.PMID,
			AccessedDate: toDateDoc(ct.AccessedDate),
		})
	}
	return d
}

// fromContentDoc returns the content; empty lists come back nil.
func fromContentDoc(d contentDoc) domain.Content {
	c := domain.Content{
		Title:            d.Title,
		Slug:             d.Slug,
		Summary:          d.Summary,
		Body:             d.Body,
		Tags:             nilIfEmpty(d.Tags),
		Topics:           nilIfEmpty(d.Topics),
		LastReviewedDate: fromDateDoc(d.LastReviewedDate),
		SEO: domain.SEO{
			MetaTitle:       d.SEO.MetaTitle,
			MetaDescription: d.SEO.MetaDescription,
			CanonicalURL:    d.SEO.CanonicalURL,
			SocialImageURL:  d.SEO.SocialImageURL,
		},
		TargetSites: nilIfEmpty(d.TargetSites),
		EditorNotes: d.EditorNotes,
	}
	for _, p := range d.Authors {
		c.Authors = append(c.Authors, fromPersonDoc(p))
	}
	for _, r := range d.Reviewers {
		c.Reviewers = append(c.Reviewers, fromReviewerDoc(r))
	}
	if d.MedicalReviewer != nil && len(d.Reviewers) == 0 {
		// Written before reviewers (article schema 1 and 2, revision schema 1).
		c.Reviewers = []domain.Reviewer{{Person: fromPersonDoc(*d.MedicalReviewer), Role: domain.RoleClinical}}
	}
	for _, a := range d.Acknowledgements {
		c.Acknowledgements = append(c.Acknowledgements, domain.Acknowledgement{RuleID: a.RuleID, Match: a.Match, Reviewer: a.Reviewer, Reason: a.Reason})
	}
	for _, ct := range d.Citations {
		c.Citations = append(c.Citations, domain.Citation{
			Title:        ct.Title,
			URL:          ct.URL,
			DOI:          ct.DOI,
			PMID:         ct.PMID,
			AccessedDate: fromDateDoc(ct.AccessedDate),
		})
	}
	return c
}

func toPersonDoc(p domain.Person) personDoc {
	return personDoc{DisplayName: p.DisplayName, Credentials: p.Credentials, URL: p.URL, Fictional: p.Fictional}
}

func fromPersonDoc(d personDoc) domain.Person {
	return domain.Person{DisplayName: d.DisplayName, Credentials: d.Credentials, URL: d.URL, Fictional: d.Fictional}
}

func toDateDoc(d domain.Date) *dateDoc {
	if d.IsZero() {
		return nil
	}
	return &dateDoc{Year: d.Year, Month: d.Month, Day: d.Day}
}

func fromDateDoc(d *dateDoc) domain.Date {
	if d == nil {
		return domain.Date{}
	}
	return domain.Date{Year: d.Year, Month: d.Month, Day: d.Day}
}

func toRenderingDoc(r markdown.Rendering) renderingDoc {
	d := renderingDoc{
		HTML:               r.HTML,
		TOC:                make([]tocEntry, 0, len(r.TOC)),
		WordCount:          r.WordCount,
		ReadingTimeMinutes: r.ReadingTimeMinutes,
		FleschReadingEase:  r.FleschReadingEase,
	}
	for _, e := range r.TOC {
		d.TOC = append(d.TOC, tocEntry{Level: e.Level, Text: e.Text, Anchor: e.Anchor})
	}
	return d
}

func fromRenderingDoc(d renderingDoc) markdown.Rendering {
	r := markdown.Rendering{
		HTML:               d.HTML,
		WordCount:          d.WordCount,
		ReadingTimeMinutes: d.ReadingTimeMinutes,
		FleschReadingEase:  d.FleschReadingEase,
	}
	for _, e := range d.TOC {
		r.TOC = append(r.TOC, markdown.TOCEntry{Level: e.Level, Text: e.Text, Anchor: e.Anchor})
	}
	return r
}

func toSnapshotDoc(s domain.Snapshot) snapshotDoc {
	return snapshotDoc{
		Content:     toContentDoc(s.Content),
		Rendering:   toRenderingDoc(s.Rendering),
		RevisionID:  s.RevisionID,
		PublishTime: toTime(s.PublishTime),
		SearchText:  s.SearchText,
	}
}

func fromSnapshotDoc(d snapshotDoc) domain.Snapshot {
	return domain.Snapshot{
		Content:     fromContentDoc(d.Content),
		Rendering:   fromRenderingDoc(d.Rendering),
		RevisionID:  d.RevisionID,
		PublishTime: fromTime(d.PublishTime),
		SearchText:  d.SearchText,
	}
}

func toChangeDoc(c domain.Change) changeDoc {
	return changeDoc{Actor: c.Actor, Action: c.Action, Fields: nonNil(c.Fields), Time: toTime(c.Time)}
}

func fromChangeDoc(d changeDoc) domain.Change {
	return domain.Change{Actor: d.Actor, Action: d.Action, Fields: nilIfEmpty(d.Fields), Time: fromTime(d.Time)}
}

// ---- revisions ----

// revisionFromArticleDoc builds the revision the article document is at: its draft, state and
// last change.
func revisionFromArticleDoc(d *articleDoc) revisionDoc {
	return revisionDoc{
		ID:            revisionKey(d.ID, d.Revision),
		SchemaVersion: revisionSchemaVersion,
		ArticleID:     d.ID,
		RevisionID:    d.Revision,
		Change:        d.LastChange,
		Content:       d.Draft,
		State:         d.State,
	}
}

func fromRevisionDoc(d *revisionDoc) (domain.Revision, error) {
	if d.BodyZstd != nil {
		return domain.Revision{}, fmt.Errorf("revision %s: its stored body was not restored (snapshotCodec.readRevision)", d.ID)
	}
	if d.SchemaVersion < 1 || d.SchemaVersion > revisionSchemaVersion {
		return domain.Revision{}, fmt.Errorf("revision %s: unknown schemaVersion %d (this release reads 1 to %d)", d.ID, d.SchemaVersion, revisionSchemaVersion)
	}
	state, err := fromState(d.State)
	if err != nil {
		return domain.Revision{}, fmt.Errorf("revision %s: %w", d.ID, err)
	}
	return domain.Revision{
		ArticleID:  d.ArticleID,
		RevisionID: d.RevisionID,
		Change:     fromChangeDoc(d.Change),
		Content:    fromContentDoc(d.Content),
		State:      state,
	}, nil
}

func revisionKey(articleID string, revisionID int64) string {
	return fmt.Sprintf("%s/%d", articleID, revisionID)
}

// ---- helpers ----

// toTime returns t as stored: UTC, truncated to the millisecond (BSON dates hold milliseconds).
func toTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func fromTime(t time.Time) time.Time { return t.UTC() }

// toOptionalTime returns nil (stored as null) for the zero time.
func toOptionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := toTime(t)
	return &u
}

func fromOptionalTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nonNil returns s, or an empty slice for nil, so that lists are stored as arrays, never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
