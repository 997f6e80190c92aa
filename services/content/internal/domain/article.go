// Package domain holds the content service's types and rules: sites, articles, their lifecycle and
// revisions. It knows nothing of protobuf or MongoDB; the api and store packages convert at its edges.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/markdown"
)

// State is where an article is in its lifecycle.
type State int

// The states. StateDraft is the state of a new article.
const (
	StateDraft State = iota + 1
	StateScheduled
	StatePublished
	StateArchived
)

var stateNames = [...]string{StateDraft: "DRAFT", StateScheduled: "SCHEDULED", StatePublished: "PUBLISHED", StateArchived: "ARCHIVED"}

// String returns the state's name as used in filters, e.g. "PUBLISHED".
func (s State) String() string {
	if s < StateDraft || s > StateArchived {
		return "STATE_" + strconv.Itoa(int(s))
	}
	return stateNames[s]
}

// StateNames lists the names State.String returns, for filter schemas.
func StateNames() []string { return []string{"DRAFT", "SCHEDULED", "PUBLISHED", "ARCHIVED"} }

// ParseState is the inverse of State.String.
func ParseState(name string) (State, bool) {
	for s := StateDraft; s <= StateArchived; s++ {
		if stateNames[s] == name {
			return s, true
		}
	}
	return 0, false
}

// Date is a calendar date without a time zone. The zero Date means "not set".
type Date struct{ Year, Month, Day int }

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real calendar date.
func (d Date) Valid() bool {
	if d.Year < 1900 || d.Year > 2200 || d.Month < 1 || d.Month > 12 || d.Day < 1 {
		return false
	}
	t := time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
	return t.Day() == d.Day
}

// Person is an author or a reviewer.
type Person struct {
	DisplayName string
	Credentials string
	URL         string
	// Fictional marks an example person who does not exist (demo content): never presented to
	// readers or search engines as real (no schema.org reviewedBy).
	Fictional bool
}

// IsZero reports whether no field is set.
func (p Person) IsZero() bool { return p == Person{} }

// Citation is a source an article relies on.
type Citation struct {
	Title        string
	URL          string
	DOI          string
	PMID         string
	AccessedDate Date
}

// SEO is search and social metadata.
type SEO struct {
	MetaTitle       string
	MetaDescription string
	CanonicalURL    string
	SocialImageURL  string
}

// Content is everything an editor writes. Drafts, revisions and published snapshots are Contents.
type Content struct {
	Title     string
	Slug      string
	Summary   string
	Body      string // Markdown
	Tags      []string
	Topics    []string
	Authors   []Person
	Reviewers []Reviewer
	// LastReviewedDate is the date of the last review as a whole; a reviewer without a
	// ReviewDate of its own reviewed on it.
	LastReviewedDate Date
	Citations        []Citation
	SEO              SEO
	TargetSites      []string // site ids
	EditorNotes      string   // never delivered
	// Acknowledgements are reviewers' acknowledgements of lint warnings about this content.
	Acknowledgements []Acknowledgement
}

// Snapshot is the frozen published form of an article, the only thing delivery ever reads.
type Snapshot struct {
	Content     Content
	Rendering   markdown.Rendering
	RevisionID  int64
	PublishTime time.Time
	// SearchText is the plain text of Content.Body that site search indexes, derived from it.
	// The service fills it before every write of an article with a snapshot; a snapshot read
	// back from the store may lack it (only delivery's copy keeps it), and readers then derive
	// it again.
	SearchText string
	// CompressedBody, when set, is Rendering.HTML and SearchText joined by a NUL byte and
	// compressed with zstd, and those two fields are empty: the store hands delivery live
	// snapshots this way, and delivery keeps the body compressed until it needs it (the search
	// text once, after start; the HTML when the article is first asked for). Entries stored
	// while the text was kept apart come with the HTML alone in CompressedBody and the text,
	// compressed, in CompressedText.
	CompressedBody []byte
	CompressedText []byte
}

// Change describes the write that produced a revision.
type Change struct {
	Actor  string   // API key name, or "system:scheduler"
	Action string   // create, update, publish, unpublish, schedule, archive, delete, undelete, rollback
	Fields []string // proto field names the write touched
	Time   time.Time
}

// Article is an article with its draft, its live snapshot and its history counters.
type Article struct {
	ID                   string
	Draft                Content
	Rendering            markdown.Rendering // of Draft.Body
	State                State
	RevisionID           int64 // increments on every successful write
	CreateTime           time.Time
	UpdateTime           time.Time
	ScheduledPublishTime time.Time // set while State == StateScheduled
	DeleteTime           time.Time // set while soft-deleted
	Published            *Snapshot // nil when nothing is live
	Creator              string
	LastChange           Change
	// PublishedSlugs is every slug the article was ever published under, in order. Delivery
	// redirects the former ones to the current slug.
	PublishedSlugs []string
	// LiveSnapshotOnly marks a view made for a key that may see only the live snapshot (see
	// ViewFor); it is never stored, and a write never starts from such a view.
	LiveSnapshotOnly bool
	// ReviewDueTime is when the draft's next review is due on its target sites (see
	// Service.ReviewDueTime); zero when never reviewed. It is derived for the caller on every
	// article the service returns, never stored.
	ReviewDueTime time.Time
	// LintFindings is what the clinical-claim lint finds in the draft, computed by the service
	// for the articles it returns (none for a basic or live-snapshot-only view); never stored.
	LintFindings []LintFinding
	// ScheduleFailure is set when a schedule was dropped because the draft failed the publish
	// checks when its time came (see Service.PublishDue); cleared by the next schedule or publish.
	ScheduleFailure *ScheduleFailure
}

// ScheduleFailure records why a scheduled publish did not happen.
type ScheduleFailure struct {
	// FailTime is when the publish was refused.
	FailTime time.Time
	// ScheduledPublishTime is the publish time the schedule had.
	ScheduledPublishTime time.Time
	// Unmet are the rules the draft failed, as CheckPublishable names them: Rule is the type
	// (REVIEW_CURRENT, LINT_STIGMATISING_TERM, ...), Field the subject.
	Unmet []apperr.FieldViolation
}

// Name returns the resource name "articles/{id}".
func (a *Article) Name() string { return "articles/" + a.ID }

// Deleted reports whether the article is soft-deleted.
func (a *Article) Deleted() bool { return !a.DeleteTime.IsZero() }

// Live reports whether the published snapshot is visible on sites. A scheduled article keeps
// its snapshot live until the scheduled publish replaces it.
func (a *Article) Live() bool { return a.Published != nil && !a.Deleted() }

// Sites returns every site the article is on: those its draft targets, then those only its live
// snapshot still targets (until the next publish or unpublish), without duplicates.
func (a *Article) Sites() []string {
	sites := slices.Clone(a.Draft.TargetSites)
	if a.Published != nil {
		for _, site := range a.Published.Content.TargetSites {
			if !slices.Contains(sites, site) {
				sites = append(sites, site)
			}
		}
	}
	return sites
}

// Etag is the opaque version clients send back to make writes conditional.
func (a *Article) Etag() string { return etag("article", a.ID, a.RevisionID) }

// Basic returns a copy of a as a basic view shows it (ArticleView BASIC): without the body, the
// rendering, citations, SEO and editor notes of its draft and of its live snapshot. Lists of
// basic views are answered from memory. The copy shares a's remaining slices; treat it as
// read-only.
func (a *Article) Basic() *Article {
	b := *a
	b.Draft = a.Draft.basic()
	b.LintFindings = nil
	b.Rendering = markdown.Rendering{}
	if a.Published != nil {
		p := *a.Published
		p.Content = p.Content.basic()
		p.Rendering = markdown.Rendering{}
		b.Published = &p
	}
	return &b
}

// basic returns c without the fields a basic view leaves out.
func (c Content) basic() Content {
	c.Body, c.Citations, c.SEO, c.EditorNotes = "", nil, SEO{}, ""
	return c
}

// PublishedRevisionID returns the revision the live snapshot came from, or 0.
func (a *Article) PublishedRevisionID() int64 {
	if a.Published == nil {
		return 0
	}
	return a.Published.RevisionID
}

// SlugKeys returns the "site/slug" keys the article holds: one per target site while it is not
// deleted, none while it is. At most one live article may hold a key.
func (a *Article) SlugKeys() []string {
	if a.Deleted() {
		return nil
	}
	keys := make([]string, 0, len(a.Draft.TargetSites))
	for _, site := range a.Draft.TargetSites {
		keys = append(keys, site+"/"+a.Draft.Slug)
	}
	return keys
}

// Revision is the article's draft as one successful write left it.
type Revision struct {
	ArticleID  string
	RevisionID int64
	Change     Change
	Content    Content
	State      State
}

func etag(kind, id string, revision int64) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + id + "\x00" + strconv.FormatInt(revision, 10)))
	return hex.EncodeToString(sum[:10])
}
