package domain

import (
	"fmt"
	"strconv"

	"github.com/beaconcms/beacon/platform/apperr"
)

// Scorer scores answers against one published version. It is immutable and safe for
// concurrent use; build it once per version (NewScorer) and keep it as long as the version is
// served.
type Scorer struct {
	version *Version
	form    *form
	reach   Reach
}

// NewScorer prepares v for scoring. v must have passed validation when it was published.
func NewScorer(v *Version) (*Scorer, error) {
	f := newForm(v.Content.Items)
	r, err := f.reach()
	if err != nil {
		return nil, fmt.Errorf("questionnaire %s version %d: reachable totals: %w", v.QuestionnaireID, v.Number, err)
	}
	return &Scorer{version: v, form: f, reach: r}, nil
}

// Version returns the version the scorer scores against.
func (s *Scorer) Version() *Version { return s.version }

// Range returns the lowest and highest reachable totals.
func (s *Scorer) Range() (lowest, highest int) { return s.reach.Min, s.reach.Max }

// Result is the outcome of scoring one set of answers. It holds no answer.
type Result struct {
	QuestionnaireID string
	Version         int64
	Score           int
	Min, Max        int // reachable totals of the version
	Band            Band
}

// Score checks the answers and sums the scores of the enabled, answered questions. Bad answers
// give an Invalid error naming every problem by the answer's position and the question's link
// id, never by the value given:
//   - an unknown link id, or one of a group or display item;
//   - a question answered twice;
//   - a value that is not an option (or not true/false, or not an integer);
//   - an answer to a question the other answers leave disabled;
//   - a required question that is enabled and unanswered.
func (s *Scorer) Score(answers Answers) (Result, error) {
	f := s.form
	vals := make([]value, len(f.nodes))
	position := make([]int, len(f.nodes))
	var v apperr.Violations
	for i, a := range answers.items() {
		field := fmt.Sprintf("answers[%d]", i)
		q, ok := f.index[a.linkID]
		if !ok {
			v.Add(field+".link_id", "%s is not an item of version %d", quoteID(a.linkID), s.version.Number)
			continue
		}
		it := f.nodes[q].item
		if !it.Type.Answerable() {
			v.Add(field+".link_id", "%q is a %s item, not a question", it.LinkID, it.Type)
			continue
		}
		if vals[q].set {
			v.Add(field+".link_id", "question %q is answered more than once (first at answers[%d])", it.LinkID, position[q])
			continue
		}
		val, problem := parseAnswer(it, a)
		if problem != "" {
			v.Add(field+".value", "%s (question %q)", problem, it.LinkID)
			continue
		}
		vals[q], position[q] = val, i
	}
	en := f.enablement(vals)
	total := 0
	for q, n := range f.nodes {
		switch {
		case vals[q].set && !en[q]:
			v.Add(fmt.Sprintf("answers[%d]", position[q]), "question %q is not enabled by the other answers, so it must not be answered", n.item.LinkID)
		case vals[q].set:
			total += n.scoreOf(vals[q])
		case en[q] && n.item.Required && n.item.Type.Answerable():
			v.Add("answers", "question %q is required", n.item.LinkID)
		}
	}
	if err := v.Err(); err != nil {
		return Result{}, err
	}
	for _, b := range s.version.Content.Bands {
		if b.Covers(total) {
			return Result{
				QuestionnaireID: s.version.QuestionnaireID, Version: s.version.Number,
				Score: total, Min: s.reach.Min, Max: s.reach.Max, Band: b,
			}, nil
		}
	}
	// Validation makes bands cover every reachable total; reaching here is a bug, and the
	// message must not carry the total (it is derived from the answers).
	return Result{}, fmt.Errorf("questionnaire %s version %d: no band covers a reachable total", s.version.QuestionnaireID, s.version.Number)
}

// parseAnswer checks a submitted value against the question and returns it in canonical form,
// or a problem that does not mention the value.
func parseAnswer(it *Item, a answer) (value, string) {
	if a.badKind {
		return value{}, "must be a boolean, an integer or an option value"
	}
	switch it.Type {
	case ItemBoolean:
		if a.value != "true" && a.value != "false" {
			return value{}, "must be true or false"
		}
		return value{set: true, s: a.value}, ""
	case ItemInteger:
		n, err := strconv.ParseInt(a.value, 10, 64)
		if err != nil {
			return value{}, "must be an integer"
		}
		val := value{set: true, s: strconv.FormatInt(n, 10), n: n}
		if len(it.Options) == 0 {
			return val, ""
		}
		for _, o := range it.Options {
			if x, err := strconv.ParseInt(o.Value, 10, 64); err == nil && x == n {
				return val, ""
			}
		}
		return value{}, "is not one of the options"
	default:
		for _, o := range it.Options {
			if o.Value == a.value {
				return value{set: true, s: a.value}, ""
			}
		}
		return value{}, "is not one of the options"
	}
}

// quoteID quotes a link id a client sent for an error message, shortened so a long string
// cannot ride along in it.
func quoteID(id string) string {
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return strconv.Quote(id)
}

// FindScorer returns the scorer of version number among a questionnaire's published versions,
// or an Invalid error on field "version" naming the versions that exist.
func FindScorer(scorers []*Scorer, number int64) (*Scorer, error) {
	var known []int64
	for _, s := range scorers {
		if s.version.Number == number {
			return s, nil
		}
		known = append(known, s.version.Number)
	}
	return nil, apperr.InvalidField("version", "version %d is not a published version of this questionnaire (published: %v)", number, known)
}

// Range returns the lowest and highest totals valid answers to c can reach, for content that
// passed validation.
func (c Content) Range() (lowest, highest int, err error) {
	r, err := newForm(c.Items).reach()
	if err != nil {
		return 0, 0, err
	}
	return r.Min, r.Max, nil
}
