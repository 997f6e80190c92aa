package store

import (
	"fmt"
	"time"

	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// Schema versions of the stored documents; a migration bumps one when its shape changes.
const (
	questionnaireSchema = 1
	versionSchema       = 1
	revisionSchema      = 1
)

type questionnaireDoc struct {
	ID               string     `bson:"_id"`
	SchemaVersion    int        `bson:"schemaVersion"`
	Revision         int64      `bson:"revision"`
	Draft            contentDoc `bson:"draft"`
	State            string     `bson:"state"`
	Version          int64      `bson:"version"`
	PublishedVersion int64      `bson:"publishedVersion"`
	Creator          string     `bson:"creator"`
	CreateTime       time.Time  `bson:"createTime"`
	UpdateTime       time.Time  `bson:"updateTime"`
	PublishTime      *time.Time `bson:"publishTime,omitempty"`
	DeleteTime       *time.Time `bson:"deleteTime,omitempty"`
	LiveSlug         string     `bson:"liveSlug,omitempty"`
	LiveSites        []string   `bson:"liveSites,omitempty"`
	// LastChange is the change that made this revision, so that the document alone answers for
	// its revision until the revision record is written (absent in documents of older releases).
	LastChange *lastChangeDoc `bson:"lastChange,omitempty"`
}

// lastChangeDoc is a domain.Change as kept on the questionnaire it made.
type lastChangeDoc struct {
	Actor  string    `bson:"actor"`
	Action string    `bson:"action"`
	Fields []string  `bson:"fields"`
	Time   time.Time `bson:"time"`
}

// versionDoc is a published version, _id "questionnaireId/v{number}". Written once.
type versionDoc struct {
	ID              string     `bson:"_id"`
	SchemaVersion   int        `bson:"schemaVersion"`
	QuestionnaireID string     `bson:"questionnaireId"`
	Number          int64      `bson:"number"`
	Content         contentDoc `bson:"content"`
	PublishTime     time.Time  `bson:"publishTime"`
}

// revisionDoc is the questionnaire as one write left it, _id "questionnaireId/{revision}".
type revisionDoc struct {
	ID              string           `bson:"_id"`
	SchemaVersion   int              `bson:"schemaVersion"`
	QuestionnaireID string           `bson:"questionnaireId"`
	Revision        int64            `bson:"revision"`
	Actor           string           `bson:"actor"`
	Action          string           `bson:"action"`
	Fields          []string         `bson:"fields"`
	Time            time.Time        `bson:"time"`
	Questionnaire   questionnaireDoc `bson:"questionnaire"`
}

type contentDoc struct {
	Title        string    `bson:"title"`
	Slug         string    `bson:"slug"`
	Description  string    `bson:"description,omitempty"`
	Instructions string    `bson:"instructions,omitempty"`
	Items        []itemDoc `bson:"items"`
	Bands        []bandDoc `bson:"bands"`
	Disclaimer   string    `bson:"disclaimer"`
	Source       sourceDoc `bson:"source"`
	TargetSites  []string  `bson:"targetSites"`
	// Absent in content written before acknowledgements existed, and when there are none.
	Acknowledgements []acknowledgementDoc `bson:"acknowledgements,omitempty"`
}

// acknowledgementDoc is a domain.Acknowledgement.
type acknowledgementDoc struct {
	RuleID   string `bson:"ruleId"`
	Match    string `bson:"match,omitempty"`
	Reviewer string `bson:"reviewer"`
	Reason   string `bson:"reason"`
}

type itemDoc struct {
	LinkID         string          `bson:"linkId"`
	Text           string          `bson:"text,omitempty"`
	Type           string          `bson:"type"`
	Required       bool            `bson:"required,omitempty"`
	Options        []optionDoc     `bson:"options,omitempty"`
	EnableWhen     []enableWhenDoc `bson:"enableWhen,omitempty"`
	EnableBehavior string          `bson:"enableBehavior,omitempty"`
	Items          []itemDoc       `bson:"items,omitempty"`
}

type optionDoc struct {
	Value   string `bson:"value"`
	Display string `bson:"display,omitempty"`
	Score   int    `bson:"score"`
}

type enableWhenDoc struct {
	Question string `bson:"question"`
	Operator string `bson:"operator"`
	Answer   string `bson:"answer"`
}

type bandDoc struct {
	Min             int      `bson:"min"`
	Max             *int     `bson:"max,omitempty"`
	Code            string   `bson:"code"`
	Title           string   `bson:"title"`
	ResultText      string   `bson:"resultText,omitempty"`
	Severity        int      `bson:"severity"`
	ShowCrisisLines bool     `bson:"showCrisisLines,omitempty"`
	ArticleTags     []string `bson:"articleTags,omitempty"`
	ArticleTopics   []string `bson:"articleTopics,omitempty"`
	ResourceKinds   []string `bson:"resourceKinds,omitempty"`
}

type sourceDoc struct {
	Citation             string `bson:"citation"`
	URL                  string `bson:"url,omitempty"`
	LicenseName          string `bson:"licenseName"`
	CommercialUseAllowed bool   `bson:"commercialUseAllowed"`
}

var itemTypeNames = map[domain.ItemType]string{
	domain.ItemBoolean: "boolean", domain.ItemChoice: "choice", domain.ItemInteger: "integer",
	domain.ItemDisplay: "display", domain.ItemGroup: "group",
}

var operatorNames = map[domain.Operator]string{
	domain.OpExists: "exists", domain.OpEquals: "=", domain.OpNotEquals: "!=", domain.OpGreater: ">",
	domain.OpLess: "<", domain.OpGreaterOrEqual: ">=", domain.OpLessOrEqual: "<=",
}

var stateNames = map[domain.State]string{domain.StateDraft: "draft", domain.StatePublished: "published"}

func lookup[K comparable](m map[K]string, name string) K {
	for k, v := range m {
		if v == name {
			return k
		}
	}
	var zero K
	return zero
}

func toContentDoc(c domain.Content) contentDoc {
	d := contentDoc{
		Title: c.Title, Slug: c.Slug, Description: c.Description, Instructions: c.Instructions,
		Items: toItemDocs(c.Items), Disclaimer: c.Disclaimer, TargetSites: c.TargetSites,
		Source: sourceDoc{Citation: c.Source.Citation, URL: c.Source.URL, LicenseName: c.Source.LicenseName, CommercialUseAllowed: c.Source.CommercialUseAllowed},
	}
	for _, a := range c.Acknowledgements {
		d.Acknowledgements = append(d.Acknowledgements, acknowledgementDoc(a))
	}
	for _, b := range c.Bands {
		bd := bandDoc{Min: b.Min, Code: b.Code, Title: b.Title, ResultText: b.ResultText, Severity: int(b.Severity), ShowCrisisLines: b.ShowCrisisLines,
			ArticleTags: b.Recommend.ArticleTags, ArticleTopics: b.Recommend.ArticleTopics, ResourceKinds: b.Recommend.ResourceKinds}
		if b.HasMax {
			m := b.Max
			bd.Max = &m
		}
		d.Bands = append(d.Bands, bd)
	}
	return d
}

func toItemDocs(items []domain.Item) []itemDoc {
	var out []itemDoc
	for _, it := range items {
		d := itemDoc{LinkID: it.LinkID, Text: it.Text, Type: itemTypeNames[it.Type], Required: it.Required, Items: toItemDocs(it.Items)}
		if it.EnableBehavior == domain.EnableAny {
			d.EnableBehavior = "any"
		}
		for _, o := range it.Options {
			d.Options = append(d.Options, optionDoc(o))
		}
		for _, w := range it.EnableWhen {
			d.EnableWhen = append(d.EnableWhen, enableWhenDoc{Question: w.Question, Operator: operatorNames[w.Operator], Answer: w.Answer})
		}
		out = append(out, d)
	}
	return out
}

func fromContentDoc(d contentDoc) domain.Content {
	c := domain.Content{
		Title: d.Title, Slug: d.Slug, Description: d.Description, Instructions: d.Instructions,
		Items: fromItemDocs(d.Items), Disclaimer: d.Disclaimer, TargetSites: d.TargetSites,
		Source: domain.Source{Citation: d.Source.Citation, URL: d.Source.URL, LicenseName: d.Source.LicenseName, CommercialUseAllowed: d.Source.CommercialUseAllowed},
	}
	for _, a := range d.Acknowledgements {
		c.Acknowledgements = append(c.Acknowledgements, domain.Acknowledgement(a))
	}
	for _, bd := range d.Bands {
		b := domain.Band{Min: bd.Min, Code: bd.Code, Title: bd.Title, ResultText: bd.ResultText, Severity: domain.Severity(bd.Severity), ShowCrisisLines: bd.ShowCrisisLines,
			Recommend: domain.Recommendations{ArticleTags: bd.ArticleTags, ArticleTopics: bd.ArticleTopics, ResourceKinds: bd.ResourceKinds}}
		if bd.Max != nil {
			b.Max, b.HasMax = *bd.Max, true
		}
		c.Bands = append(c.Bands, b)
	}
	return c
}

func fromItemDocs(docs []itemDoc) []domain.Item {
	var out []domain.Item
	for _, d := range docs {
		it := domain.Item{LinkID: d.LinkID, Text: d.Text, Type: lookup(itemTypeNames, d.Type), Required: d.Required, Items: fromItemDocs(d.Items)}
		if d.EnableBehavior == "any" {
			it.EnableBehavior = domain.EnableAny
		}
		for _, o := range d.Options {
			it.Options = append(it.Options, domain.AnswerOption(o))
		}
		for _, w := range d.EnableWhen {
			it.EnableWhen = append(it.EnableWhen, domain.EnableWhen{Question: w.Question, Operator: lookup(operatorNames, w.Operator), Answer: w.Answer})
		}
		out = append(out, it)
	}
	return out
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func fromOptionalTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// toRevisionDoc is the revision record of the revision d is at, made by d.LastChange.
func toRevisionDoc(d questionnaireDoc) revisionDoc {
	rev := revisionDoc{ID: revisionID(d.ID, d.Revision), SchemaVersion: revisionSchema, QuestionnaireID: d.ID, Revision: d.Revision}
	if c := d.LastChange; c != nil {
		rev.Actor, rev.Action, rev.Fields, rev.Time = c.Actor, c.Action, c.Fields, c.Time
	}
	d.LastChange = nil // the record holds it
	rev.Questionnaire = d
	return rev
}

// toQuestionnaireDoc is q as stored, written by change c.
func toQuestionnaireDoc(q *domain.Questionnaire, c domain.Change) questionnaireDoc {
	return questionnaireDoc{
		LastChange: &lastChangeDoc{Actor: c.Actor, Action: c.Action, Fields: c.Fields, Time: c.Time.UTC()},
		ID:         q.ID, SchemaVersion: questionnaireSchema, Revision: q.RevisionID, Draft: toContentDoc(q.Draft),
		State: stateNames[q.State], Version: q.Version, PublishedVersion: q.PublishedVersion, Creator: q.Creator,
		CreateTime: q.CreateTime.UTC(), UpdateTime: q.UpdateTime.UTC(),
		PublishTime: optionalTime(q.PublishTime), DeleteTime: optionalTime(q.DeleteTime),
		LiveSlug: q.LiveSlug, LiveSites: q.LiveSites,
	}
}

func fromQuestionnaireDoc(d questionnaireDoc) (*domain.Questionnaire, error) {
	if d.SchemaVersion != questionnaireSchema {
		return nil, fmt.Errorf("questionnaire %s has schema version %d; this release reads %d", d.ID, d.SchemaVersion, questionnaireSchema)
	}
	return &domain.Questionnaire{
		ID: d.ID, Draft: fromContentDoc(d.Draft), State: lookup(stateNames, d.State), Version: d.Version,
		PublishedVersion: d.PublishedVersion, RevisionID: d.Revision, Creator: d.Creator,
		CreateTime: d.CreateTime.UTC(), UpdateTime: d.UpdateTime.UTC(),
		PublishTime: fromOptionalTime(d.PublishTime), DeleteTime: fromOptionalTime(d.DeleteTime),
		LiveSlug: d.LiveSlug, LiveSites: d.LiveSites,
	}, nil
}
