// Package fhir exports questionnaires as HL7 FHIR R4 Questionnaire resources (JSON).
//
// The mapping:
//   - items keep their link ids, texts, types, required flags and enableWhen conditions;
//   - option scores become itemWeight extensions (http://hl7.org/fhir/StructureDefinition/itemWeight)
//     on each answerOption;
//   - a boolean question with scored options is exported as a choice question with the codings
//     "true" and "false", because R4 allows answerOption (and so itemWeight) only on choice-like
//     types; conditions on it compare codings accordingly;
//   - choice options are codings with the option value as code; integer options are valueInteger;
//   - source and licence become copyright; description and instructions become description.
//
// Result bands have no FHIR R4 element and are not exported.
package fhir

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/beaconcms/beacon/services/screening/internal/domain"
)

// ItemWeightURL is the canonical URL of the FHIR extension that carries an option's score.
const ItemWeightURL = "http://hl7.org/fhir/StructureDefinition/itemWeight"

// Meta is what the export needs besides the content.
type Meta struct {
	ID          string    // questionnaire id: FHIR id syntax, letters, digits, '-' and '.'
	Version     int64     // version number
	Published   bool      // status "active" when true, else "draft"
	PublishTime time.Time // the FHIR date; zero to omit
}

type questionnaire struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id,omitempty"`
	Version      string `json:"version,omitempty"`
	Title        string `json:"title,omitempty"`
	Status       string `json:"status"`
	Date         string `json:"date,omitempty"`
	Description  string `json:"description,omitempty"`
	Copyright    string `json:"copyright,omitempty"`
	Item         []item `json:"item,omitempty"`
}

type item struct {
	LinkID         string         `json:"linkId"`
	Text           string         `json:"text,omitempty"`
	Type           string         `json:"type"`
	EnableWhen     []enableWhen   `json:"enableWhen,omitempty"`
	EnableBehavior string         `json:"enableBehavior,omitempty"`
	Required       bool           `json:"required,omitempty"`
	AnswerOption   []answerOption `json:"answerOption,omitempty"`
	Item           []item         `json:"item,omitempty"`
}

type coding struct {
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type extension struct {
	URL          string  `json:"url"`
	ValueDecimal float64 `json:"valueDecimal"`
}

type answerOption struct {
	Extension    []extension `json:"extension,omitempty"`
	ValueInteger *int64      `json:"valueInteger,omitempty"`
	ValueCoding  *coding     `json:"valueCoding,omitempty"`
}

type enableWhen struct {
	Question      string  `json:"question"`
	Operator      string  `json:"operator"`
	AnswerBoolean *bool   `json:"answerBoolean,omitempty"`
	AnswerInteger *int64  `json:"answerInteger,omitempty"`
	AnswerCoding  *coding `json:"answerCoding,omitempty"`
}

// Export returns c as a FHIR R4 Questionnaire in JSON. c must be valid (domain validation).
func Export(m Meta, c domain.Content) ([]byte, error) {
	q := questionnaire{
		ResourceType: "Questionnaire",
		ID:           m.ID,
		Version:      strconv.FormatInt(m.Version, 10),
		Title:        c.Title,
		Status:       "draft",
		Description:  strings.TrimSpace(c.Description + "\n\n" + c.Instructions),
		Copyright:    strings.TrimSpace(c.Source.Citation + "\n\nLicence: " + c.Source.LicenseName),
	}
	if m.Published {
		q.Status = "active"
	}
	if !m.PublishTime.IsZero() {
		q.Date = m.PublishTime.UTC().Format(time.RFC3339)
	}
	types := map[string]domain.ItemType{}
	exportedAsChoice := map[string]bool{}
	var index func(items []domain.Item)
	index = func(items []domain.Item) {
		for _, it := range items {
			types[it.LinkID] = it.Type
			exportedAsChoice[it.LinkID] = it.Type == domain.ItemBoolean && len(it.Options) > 0
			index(it.Items)
		}
	}
	index(c.Items)
	q.Item = exportItems(c.Items, types, exportedAsChoice)
	return json.MarshalIndent(q, "", "  ")
}

func exportItems(items []domain.Item, types map[string]domain.ItemType, asChoice map[string]bool) []item {
	out := make([]item, 0, len(items))
	for _, it := range items {
		x := item{LinkID: it.LinkID, Text: it.Text, Type: it.Type.String(), Required: it.Required}
		if asChoice[it.LinkID] {
			x.Type = "choice"
		}
		for _, o := range it.Options {
			ao := answerOption{Extension: []extension{{URL: ItemWeightURL, ValueDecimal: float64(o.Score)}}}
			if it.Type == domain.ItemInteger {
				n, _ := strconv.ParseInt(o.Value, 10, 64)
				ao.ValueInteger = &n
			} else {
				ao.ValueCoding = &coding{Code: o.Value, Display: o.Display}
			}
			x.AnswerOption = append(x.AnswerOption, ao)
		}
		for _, w := range it.EnableWhen {
			x.EnableWhen = append(x.EnableWhen, exportCondition(w, types[w.Question], asChoice[w.Question]))
		}
		if len(it.EnableWhen) > 1 {
			x.EnableBehavior = "all"
			if it.EnableBehavior == domain.EnableAny {
				x.EnableBehavior = "any"
			}
		}
		x.Item = exportItems(it.Items, types, asChoice)
		out = append(out, x)
	}
	return out
}

func exportCondition(w domain.EnableWhen, qt domain.ItemType, asChoice bool) enableWhen {
	e := enableWhen{Question: w.Question, Operator: w.Operator.String()}
	switch {
	case w.Operator == domain.OpExists:
		b := w.Answer == "true"
		e.AnswerBoolean = &b
	case qt == domain.ItemInteger:
		n, _ := strconv.ParseInt(w.Answer, 10, 64)
		e.AnswerInteger = &n
	case qt == domain.ItemBoolean && !asChoice:
		b := w.Answer == "true"
		e.AnswerBoolean = &b
	default:
		e.AnswerCoding = &coding{Code: w.Answer}
	}
	return e
}
