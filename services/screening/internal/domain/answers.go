package domain

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Answers are a reader's answers to one questionnaire version. They are private health
// information: they live only in memory for one scoring and must never reach a log, a trace, an
// error message or the store.
//
// The type enforces that as far as Go allows. The values are reachable only through a closure,
// which reflection cannot look into: fmt prints a containing struct's field (exported or not,
// with any verb) as a function address. Answers itself formats, logs (slog.LogValuer) and
// encodes to JSON as "[N answers redacted]". Code that needs the values uses the scoring
// methods of this package; nothing exports them. Copies share the same answers.
type Answers struct{ list func() *answerList }

type answerList struct{ items []answer }

type answer struct {
	linkID  string
	value   string
	badKind bool // the value was not a boolean, an integer or a string
}

// Add records the answer value for the question linkID: an option value, a decimal integer, or
// "true"/"false".
func (a *Answers) Add(linkID, value string) {
	a.append(answer{linkID: linkID, value: value})
}

// AddUnusable records an answer for linkID whose value had a type no question takes (for
// example a JSON object or a fraction); scoring reports it as a bad value.
func (a *Answers) AddUnusable(linkID string) {
	a.append(answer{linkID: linkID, badKind: true})
}

func (a *Answers) append(x answer) {
	if a.list == nil {
		l := &answerList{}
		a.list = func() *answerList { return l }
	}
	l := a.list()
	l.items = append(l.items, x)
}

// Len returns the number of answers.
func (a Answers) Len() int {
	if a.list == nil {
		return 0
	}
	return len(a.list().items)
}

func (a Answers) items() []answer {
	if a.list == nil {
		return nil
	}
	return a.list().items
}

// String redacts: it says only how many answers there are.
func (a Answers) String() string { return "[" + strconv.Itoa(a.Len()) + " answers redacted]" }

// GoString redacts, for %#v.
func (a Answers) GoString() string { return "domain.Answers" + a.String() }

// Format redacts for every verb and flag (%v, %+v, %#v, %s, %q, %x ...).
func (a Answers) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, a.GoString())
		return
	}
	_, _ = io.WriteString(f, a.String())
}

// LogValue redacts in every slog handler.
func (a Answers) LogValue() slog.Value { return slog.StringValue(a.String()) }

// MarshalJSON redacts.
func (a Answers) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// MarshalText redacts, for encoders that use encoding.TextMarshaler.
func (a Answers) MarshalText() ([]byte, error) { return []byte(a.String()), nil }
