// Package domain holds the screening service's types and rules: questionnaires (self-checks),
// their validation, frozen versions, scoring of answers, and the disclosure rule for aggregate
// counters. It knows nothing of protobuf or MongoDB; the api and store packages convert at its
// edges.
//
// Privacy: a reader's answers exist only as Answers values, which redact themselves in every
// format, log record and JSON encoding, and error messages about answers name positions and
// link ids, never values. Nothing here stores answers.
package domain

import (
	"slices"
	"time"
)

// ItemType is what kind of item a questionnaire item is.
type ItemType int

// The item types, after HL7 FHIR Questionnaire.item.type.
const (
	ItemBoolean ItemType = iota + 1
	ItemChoice
	ItemInteger
	ItemDisplay
	ItemGroup
)

var itemTypeNames = [...]string{ItemBoolean: "boolean", ItemChoice: "choice", ItemInteger: "integer", ItemDisplay: "display", ItemGroup: "group"}

// String returns the FHIR name of the type, e.g. "choice".
func (t ItemType) String() string {
	if t < ItemBoolean || t > ItemGroup {
		return "unknown"
	}
	return itemTypeNames[t]
}

// Answerable reports whether items of this type take an answer.
func (t ItemType) Answerable() bool { return t == ItemBoolean || t == ItemChoice || t == ItemInteger }

// Operator compares an earlier question's answer in an EnableWhen condition.
type Operator int

// The operators, after FHIR enableWhen.operator.
const (
	OpExists Operator = iota + 1
	OpEquals
	OpNotEquals
	OpGreater
	OpLess
	OpGreaterOrEqual
	OpLessOrEqual
)

var operatorNames = [...]string{OpExists: "exists", OpEquals: "=", OpNotEquals: "!=", OpGreater: ">", OpLess: "<", OpGreaterOrEqual: ">=", OpLessOrEqual: "<="}

// String returns the FHIR spelling of the operator, e.g. ">=".
func (o Operator) String() string {
	if o < OpExists || o > OpLessOrEqual {
		return "unknown"
	}
	return operatorNames[o]
}

// Ordered reports whether the operator compares magnitudes (integer questions only).
func (o Operator) Ordered() bool { return o >= OpGreater && o <= OpLessOrEqual }

// EnableBehavior says how several EnableWhen conditions combine.
type EnableBehavior int

// The behaviours. The zero value means EnableAll.
const (
	EnableAll EnableBehavior = iota
	EnableAny
)

// Severity is how serious a result band is.
type Severity int

// The severities, mildest first.
const (
	SeverityNone Severity = iota + 1
	SeverityLow
	SeverityModerate
	SeverityHigh
	SeveritySevere
)

// AnswerOption is one allowed answer and the points it adds.
type AnswerOption struct {
	Value   string // compared and submitted: a code, a decimal integer, or "true"/"false"
	Display string // shown to the reader; defaults to Value
	Score   int
}

// EnableWhen enables an item only when an earlier question's answer meets a condition.
type EnableWhen struct {
	Question string // link id of an earlier answerable item
	Operator Operator
	Answer   string // an option value, an integer, or "true"/"false"
}

// Item is a question, a display text or a group of items.
type Item struct {
	LinkID         string
	Text           string
	Type           ItemType
	Required       bool
	Options        []AnswerOption
	EnableWhen     []EnableWhen
	EnableBehavior EnableBehavior
	Items          []Item // groups only
}

// Recommendations name what a band leads the reader to.
type Recommendations struct {
	ArticleTags   []string
	ArticleTopics []string
	ResourceKinds []string
}

// Band maps a range of totals to a result. HasMax false means no upper limit.
type Band struct {
	Min             int
	Max             int
	HasMax          bool
	Code            string
	Title           string
	ResultText      string // CommonMark
	Severity        Severity
	ShowCrisisLines bool
	Recommend       Recommendations
}

// Covers reports whether total falls in the band.
func (b Band) Covers(total int) bool { return total >= b.Min && (!b.HasMax || total <= b.Max) }

// Source says where an instrument comes from and on what terms it may be used.
type Source struct {
	Citation             string
	URL                  string
	LicenseName          string
	CommercialUseAllowed bool
}

// Content is the editable part of a questionnaire: what a draft holds and a version freezes.
type Content struct {
	Title        string
	Slug         string
	Description  string
	Instructions string // CommonMark
	Items        []Item
	Bands        []Band
	Disclaimer   string
	Source       Source
	TargetSites  []string // site ids, without the "sites/" prefix
	// Acknowledgements of lint warnings: publishing needs one for every warning.
	Acknowledgements []Acknowledgement
}

// Clone returns a deep copy, so a frozen version never shares slices with a draft.
func (c Content) Clone() Content {
	c.Items = cloneItems(c.Items)
	c.Bands = slices.Clone(c.Bands)
	for i := range c.Bands {
		r := &c.Bands[i].Recommend
		r.ArticleTags, r.ArticleTopics, r.ResourceKinds = slices.Clone(r.ArticleTags), slices.Clone(r.ArticleTopics), slices.Clone(r.ResourceKinds)
	}
	c.TargetSites = slices.Clone(c.TargetSites)
	c.Acknowledgements = slices.Clone(c.Acknowledgements)
	return c
}

func cloneItems(items []Item) []Item {
	if items == nil {
		return nil
	}
	out := make([]Item, len(items))
	for i, it := range items {
		it.Options = slices.Clone(it.Options)
		it.EnableWhen = slices.Clone(it.EnableWhen)
		it.Items = cloneItems(it.Items)
		out[i] = it
	}
	return out
}

// State is where a questionnaire is in its lifecycle.
type State int

// The states. StateDraft is the state of a new questionnaire.
const (
	StateDraft State = iota + 1
	StatePublished
)

// Questionnaire is a self-check with its working draft and its publication record.
type Questionnaire struct {
	ID               string
	Draft            Content
	State            State
	Version          int64 // version number of the draft
	PublishedVersion int64 // newest published version; 0 when none
	RevisionID       int64
	Creator          string
	CreateTime       time.Time
	UpdateTime       time.Time
	PublishTime      time.Time // when PublishedVersion was published
	DeleteTime       time.Time // zero unless soft-deleted
	// LiveSlug and LiveSites are the slug and target sites of PublishedVersion: where sites
	// serve the questionnaire until the next publish. Empty while never published.
	LiveSlug  string
	LiveSites []string
}

// Deleted reports whether the questionnaire is soft-deleted.
func (q *Questionnaire) Deleted() bool { return !q.DeleteTime.IsZero() }

// DraftIsPublished reports whether the draft is exactly the newest published version.
func (q *Questionnaire) DraftIsPublished() bool {
	return q.PublishedVersion != 0 && q.Version == q.PublishedVersion
}

// Edit replaces the draft. Editing a draft that is already published starts the next version,
// so a published version never changes.
func (q *Questionnaire) Edit(c Content, now time.Time) {
	if q.DraftIsPublished() {
		q.Version++
	}
	q.Draft = c
	q.UpdateTime = now
}

// Publish freezes the draft as its version number and makes it the one sites serve. Publishing
// a draft that is already the newest published version changes nothing and returns that
// version again. The caller validates the draft first.
func (q *Questionnaire) Publish(now time.Time) *Version {
	if !q.DraftIsPublished() {
		q.PublishedVersion = q.Version
		q.PublishTime = now
		q.State = StatePublished
		q.LiveSlug = q.Draft.Slug
		q.LiveSites = slices.Clone(q.Draft.TargetSites)
	}
	return &Version{QuestionnaireID: q.ID, Number: q.PublishedVersion, Content: q.Draft.Clone(), PublishTime: q.PublishTime}
}

// Version is a published, frozen version of a questionnaire. It never changes once written and
// stays scoreable after newer versions are published.
type Version struct {
	QuestionnaireID string
	Number          int64
	Content         Content
	PublishTime     time.Time
}
