// Package listfilter parses the filter string of List RPCs: a small, allowlisted subset of
// AIP-160 (https://google.aip.dev/160).
//
// This parser is the only way user text becomes a query. It never produces query documents:
// it returns typed [Condition] values for fields the caller allowlisted in a [Schema], and store
// code compiles those into database filters field by field.
//
// # Grammar
//
//	filter     = [ condition { "AND" condition } ]
//	condition  = field operator value
//	field      = a key of the Schema, matched exactly (case-sensitive)
//	operator   = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
//	value      = bare | quoted
//	bare       = 1*( ALPHA | DIGIT | "_" | "." | ":" | "-" )
//	quoted     = '"' { any character but '"', '\' and control characters | '\"' | '\\' } '"'
//
// Whitespace (space, tab, CR, LF) may separate tokens and must follow a value unless the
// filter ends there. The keyword AND is case-sensitive, as in AIP-160: "and" is rejected with
// a message saying so rather than silently accepted. A bare value may not be a keyword (AND, OR,
// NOT); quote it to use it as a value.
//
// The ":" (has) operator is accepted only on Text fields, where it means "contains": title:"kratom"
// matches a title with "kratom" anywhere in it, in any case. Text fields accept no other
// operator, and a Text value may not be empty.
//
// Not supported, each with a clear error: OR, NOT, "-" negation, parentheses, the ":" (has)
// operator on other fields, function calls, implicit AND by juxtaposition, single-quoted strings, escapes other
// than \" and \\, control characters anywhere (except whitespace between tokens), and invalid
// UTF-8.
package listfilter

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/beaconcms/beacon/platform/apperr"
)

// Kind is the type of a filterable field.
type Kind int

// The kinds.
const (
	String Kind = iota + 1 // any string; operators = and !=
	Enum                   // one of Field.Values; operators = and !=
	Time                   // an RFC 3339 time; all six operators
	// Text is free text searched for: only the has operator ":" (contains, case-insensitive,
	// as the consumer compares) with a non-empty value.
	Text
)

// Op is a comparison operator.
type Op string

// The operators.
const (
	Eq Op = "="
	Ne Op = "!="
	Lt Op = "<"
	Le Op = "<="
	Gt Op = ">"
	Ge Op = ">="
	// Has is AIP-160's has operator ":", on Text fields: the field contains the value,
	// case-insensitively.
	Has Op = ":"
)

// Field describes one filterable field. Enum fields accept only Values (matched
// case-insensitively, returned canonical as written in Values). String and Enum allow = and !=;
// Time allows all six ops; Text allows only ":" (Has).
type Field struct {
	Kind   Kind
	Values []string // for Enum: the accepted values; must not be empty
}

// Schema maps the accepted field names (e.g. both "update_time" and "updateTime" if the caller
// lists both) to fields. Names are matched exactly. A Schema is only read, so one value may be
// shared by concurrent calls.
type Schema map[string]Field

// Condition is one parsed comparison: Field Op value.
//
// A filter may hold several conditions on the same field (e.g. a time range,
// update_time >= a AND update_time < b); all conditions must hold, so code compiling them must
// combine them (e.g. with $and), never let one overwrite another.
type Condition struct {
	Field string    // the field name exactly as written in the Schema key
	Op    Op        // allowed for the field's Kind
	Value string    // for String (unescaped; may be empty), Text (unescaped; never empty) and Enum (canonical, from Values); "" for Time
	Time  time.Time // for Time, in UTC (the zero time if the filter says 0001-01-01T00:00:00Z); zero otherwise
}

// Limits on the input.
const (
	MaxLength     = 2000 // bytes
	MaxConditions = 10
)

// errField is the request field that errors name.
const errField = "filter"

// Parse parses conditions joined by AND. Empty (or all-whitespace) input gives nil, nil.
//
// Errors caused by the input are *apperr.Error with code Invalid and one field violation for
// "filter" whose description names the problem and its byte offset in input, e.g.
// `unknown field "$where" at 0`, `operator ">" is not allowed for field "tag" at 4`,
// `OR is not supported at 12`, `unterminated string at 6`,
// `invalid time "yesterday" for update_time at 14: want RFC 3339`.
//
// A schema field with an unknown Kind, or an Enum without Values, is a programming error: Parse
// then returns an error that is not an *apperr.Error (so it is reported as internal), but only
// when the input uses that field.
func Parse(input string, schema Schema) ([]Condition, error) {
	if len(input) > MaxLength {
		return nil, invalid("filter is too long: %d bytes, at most %d", len(input), MaxLength)
	}
	if err := checkChars(input); err != nil {
		return nil, err
	}
	p := parser{in: input, schema: schema}
	p.skipSpace()
	if p.eof() {
		return nil, nil
	}
	var conds []Condition
	for {
		p.skipSpace()
		if len(conds) == MaxConditions {
			return nil, invalid("too many conditions at %d: at most %d", p.pos, MaxConditions)
		}
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
		p.skipSpace()
		if p.eof() {
			return conds, nil
		}
		if err := p.and(); err != nil {
			return nil, err
		}
	}
}

// invalid returns the Invalid error for the filter field.
func invalid(format string, args ...any) error {
	return apperr.InvalidField(errField, format, args...)
}

// checkChars rejects invalid UTF-8 and control characters other than whitespace.
func checkChars(s string) error {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return invalid("invalid UTF-8 at %d", i)
		}
		if unicode.IsControl(r) && !isSpace(s[i]) {
			return invalid("control character %U at %d", r, i)
		}
		i += size
	}
	return nil
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// isWordByte reports whether b may be part of a field name or keyword as lexed. The set is
// wider than any sensible field name so that "$where" or "a.b" is reported as an unknown field.
func isWordByte(b byte) bool {
	return isBareByte(b) && b != ':' || b == '$' || b >= utf8.RuneSelf
}

// isBareByte reports whether b may be part of an unquoted value.
func isBareByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		b == '_' || b == '.' || b == ':' || b == '-'
}

func isKeyword(s string) bool { return s == "AND" || s == "OR" || s == "NOT" }

type parser struct {
	in     string
	pos    int
	schema Schema
}

func (p *parser) eof() bool { return p.pos >= len(p.in) }

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.in[p.pos]) {
		p.pos++
	}
}

// word consumes and returns the run of bytes satisfying ok at the current position.
func (p *parser) word(ok func(byte) bool) string {
	start := p.pos
	for !p.eof() && ok(p.in[p.pos]) {
		p.pos++
	}
	return p.in[start:p.pos]
}

// found describes what is at offset i for "found ..." in messages.
func (p *parser) found(i int) string {
	if i >= len(p.in) {
		return "end of filter"
	}
	r, _ := utf8.DecodeRuneInString(p.in[i:])
	return fmt.Sprintf("%q", r)
}

// unexpected returns the error for an unexpected character at i, after the caller handled
// everything that has a more specific message; want describes what was expected.
func (p *parser) unexpected(i int, want string) error {
	if i < len(p.in) && (p.in[i] == '(' || p.in[i] == ')') {
		return invalid("parentheses are not supported at %d", i)
	}
	if i < len(p.in) && p.in[i] == '\'' {
		return invalid("single-quoted strings are not supported at %d: use double quotes", i)
	}
	return invalid("expected %s at %d, found %s", want, i, p.found(i))
}

// and consumes the keyword AND (with the whitespace before it already skipped).
func (p *parser) and() error {
	start := p.pos
	w := p.word(isWordByte)
	switch {
	case w == "AND":
		return nil
	case w == "OR" || w == "NOT":
		return invalid("%s is not supported at %d", w, start)
	case strings.EqualFold(w, "AND") || strings.EqualFold(w, "OR") || strings.EqualFold(w, "NOT"):
		return invalid("expected AND at %d, found %q: keywords are upper case", start, w)
	case w != "":
		return invalid("expected AND at %d, found %q", start, w)
	}
	return p.unexpected(start, "AND")
}

// condition parses field operator value.
func (p *parser) condition() (Condition, error) {
	p.skipSpace()
	name, field, err := p.field()
	if err != nil {
		return Condition{}, err
	}
	op, err := p.op(name, field)
	if err != nil {
		return Condition{}, err
	}
	c := Condition{Field: name, Op: op}
	p.skipSpace()
	start := p.pos
	v, err := p.value(name)
	if err != nil {
		return Condition{}, err
	}
	switch field.Kind {
	case String:
		c.Value = v
	case Text:
		if v == "" {
			return Condition{}, invalid("empty value for %s at %d: want the text to look for", name, start)
		}
		c.Value = v
	case Enum:
		for _, want := range field.Values {
			if strings.EqualFold(v, want) {
				c.Value = want
				return c, nil
			}
		}
		return Condition{}, invalid("invalid value %q for %s at %d: want one of %s", v, name, start, strings.Join(field.Values, ", "))
	case Time:
		if v == "" {
			return Condition{}, invalid("empty time for %s at %d: want RFC 3339", name, start)
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return Condition{}, invalid("invalid time %q for %s at %d: want RFC 3339", v, name, start)
		}
		if t = t.UTC(); t.Year() < 0 || t.Year() > 9999 {
			return Condition{}, invalid("time %q for %s at %d is out of range", v, name, start)
		}
		c.Time = t
	}
	return c, nil
}

// field parses a field name and looks it up in the schema.
func (p *parser) field() (string, Field, error) {
	start := p.pos
	w := p.word(isWordByte)
	switch {
	case w == "":
		if p.eof() && start > 0 {
			return "", Field{}, invalid("expected a field name after AND at %d, found end of filter", start)
		}
		if !p.eof() && p.in[start] == '"' {
			return "", Field{}, invalid("expected a field name at %d, found a string", start)
		}
		return "", Field{}, p.unexpected(start, "a field name")
	case w == "AND":
		return "", Field{}, invalid("expected a field name at %d, found AND", start)
	case w == "OR" || w == "NOT":
		return "", Field{}, invalid("%s is not supported at %d", w, start)
	case w[0] == '-':
		return "", Field{}, invalid("negation (\"-\") is not supported at %d", start)
	case !p.eof() && p.in[p.pos] == '(':
		return "", Field{}, invalid("functions are not supported at %d", start)
	}
	f, ok := p.schema[w]
	if !ok {
		return "", Field{}, invalid("unknown field %q at %d", w, start)
	}
	switch {
	case f.Kind == Enum && len(f.Values) == 0:
		return "", Field{}, fmt.Errorf("listfilter: enum field %q has no values", w)
	case f.Kind != String && f.Kind != Enum && f.Kind != Time && f.Kind != Text:
		return "", Field{}, fmt.Errorf("listfilter: field %q has invalid kind %d", w, f.Kind)
	}
	return w, f, nil
}

// op parses an operator and checks that the field allows it.
func (p *parser) op(name string, f Field) (Op, error) {
	p.skipSpace()
	start := p.pos
	rest := p.in[start:]
	var op Op
	switch {
	case strings.HasPrefix(rest, "=="):
		return "", invalid("operator \"==\" is not supported at %d: use \"=\"", start)
	case strings.HasPrefix(rest, "!="):
		op = Ne
	case strings.HasPrefix(rest, "<="):
		op = Le
	case strings.HasPrefix(rest, ">="):
		op = Ge
	case strings.HasPrefix(rest, "="):
		op = Eq
	case strings.HasPrefix(rest, "<"):
		op = Lt
	case strings.HasPrefix(rest, ">"):
		op = Gt
	case strings.HasPrefix(rest, ":"):
		if f.Kind != Text {
			return "", invalid("the has operator \":\" is not supported at %d", start)
		}
		op = Has
	default:
		if w := p.word(isWordByte); w != "" {
			return "", invalid("expected an operator after %s at %d, found %q", name, start, w)
		}
		return "", p.unexpected(start, "an operator after "+name)
	}
	p.pos += len(op)
	if f.Kind == Text && op != Has {
		return "", invalid("operator %q is not allowed for field %q at %d: use %s:\"text\" (contains)", op, name, start, name)
	}
	if f.Kind != Time && f.Kind != Text && op != Eq && op != Ne {
		return "", invalid("operator %q is not allowed for field %q at %d", op, name, start)
	}
	return op, nil
}

// value parses a bare or quoted value and checks what follows it.
func (p *parser) value(name string) (string, error) {
	start := p.pos
	var v string
	switch {
	case p.eof():
		return "", invalid("missing value for %s at %d", name, start)
	case p.in[start] == '"':
		var err error
		if v, err = p.quoted(); err != nil {
			return "", err
		}
	case isBareByte(p.in[start]):
		v = p.word(isBareByte)
		if isKeyword(v) {
			return "", invalid("expected a value for %s at %d, found keyword %s: quote it to use it as a value", name, start, v)
		}
		if !p.eof() && p.in[p.pos] == '(' {
			return "", invalid("functions are not supported at %d", start)
		}
	default:
		return "", p.unexpected(start, "a value for "+name)
	}
	if !p.eof() && !isSpace(p.in[p.pos]) {
		if c := p.in[p.pos]; c == '(' || c == ')' {
			return "", invalid("parentheses are not supported at %d", p.pos)
		}
		return "", invalid("unexpected %s after value at %d: separate conditions with \" AND \" and quote values with other characters", p.found(p.pos), p.pos)
	}
	return v, nil
}

// quoted parses a double-quoted string starting at the current position.
func (p *parser) quoted() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.in[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\':
			if p.pos+1 < len(p.in) && (p.in[p.pos+1] == '"' || p.in[p.pos+1] == '\\') {
				b.WriteByte(p.in[p.pos+1])
				p.pos += 2
				continue
			}
			if p.pos+1 >= len(p.in) {
				return "", invalid("unterminated string at %d", start)
			}
			r, _ := utf8.DecodeRuneInString(p.in[p.pos+1:])
			return "", invalid("invalid escape %q at %d: only \\\" and \\\\ are supported", "\\"+string(r), p.pos)
		case c < ' ' || c == 0x7f:
			// checkChars allowed only whitespace; it has no place inside a value.
			return "", invalid("control character %U at %d", rune(c), p.pos)
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", invalid("unterminated string at %d", start)
}
