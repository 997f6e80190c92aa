package listfilter_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/listfilter"
)

// testSchema returns a fresh schema shaped like ListArticles'.
func testSchema() listfilter.Schema {
	return listfilter.Schema{
		"state":       {Kind: listfilter.Enum, Values: []string{"DRAFT", "PUBLISHED"}},
		"tag":         {Kind: listfilter.String},
		"author":      {Kind: listfilter.String},
		"update_time": {Kind: listfilter.Time},
		"updateTime":  {Kind: listfilter.Time},
		"title":       {Kind: listfilter.Text},
	}
}

func date(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatalf("bad test time %q: %v", s, err)
	}
	return t.UTC()
}

// nConditions returns n conditions "tag = vI" joined by AND.
func nConditions(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("tag = v%d", i)
	}
	return strings.Join(parts, " AND ")
}

// filterViolation returns the description of err's single "filter" violation, failing tb
// unless err is an Invalid *apperr.Error with exactly that one violation.
func filterViolation(tb testing.TB, err error) string {
	tb.Helper()
	e, ok := apperr.As(err)
	if !ok {
		tb.Fatalf("error %v (%T) is not an *apperr.Error", err, err)
	}
	if e.Code != apperr.Invalid {
		tb.Fatalf("error code = %q, want %q (error %v)", e.Code, apperr.Invalid, err)
	}
	if len(e.Fields) != 1 || e.Fields[0].Field != "filter" {
		tb.Fatalf("error fields = %+v, want exactly one for \"filter\"", e.Fields)
	}
	return e.Fields[0].Description
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []listfilter.Condition
	}{
		{name: "empty", input: "", want: nil},
		{name: "whitespace only", input: " \t\r\n ", want: nil},
		{
			name:  "enum canonical",
			input: "state = PUBLISHED",
			want:  []listfilter.Condition{{Field: "state", Op: listfilter.Eq, Value: "PUBLISHED"}},
		},
		{
			name:  "enum case-insensitive, quoted, no spaces",
			input: `state!="draft"`,
			want:  []listfilter.Condition{{Field: "state", Op: listfilter.Ne, Value: "DRAFT"}},
		},
		{
			name:  "bare string",
			input: "tag = kratom",
			want:  []listfilter.Condition{{Field: "tag", Op: listfilter.Eq, Value: "kratom"}},
		},
		{
			name:  "bare string with every allowed punctuation",
			input: "author = jane.doe-1_x:y",
			want:  []listfilter.Condition{{Field: "author", Op: listfilter.Eq, Value: "jane.doe-1_x:y"}},
		},
		{
			name:  "quoted with escapes",
			input: `tag != "a \"quoted\" \\ value"`,
			want:  []listfilter.Condition{{Field: "tag", Op: listfilter.Ne, Value: `a "quoted" \ value`}},
		},
		{
			name:  "empty quoted string",
			input: `tag = ""`,
			want:  []listfilter.Condition{{Field: "tag", Op: listfilter.Eq, Value: ""}},
		},
		{
			name:  "unicode and injection-looking text stay plain values",
			input: `tag = "café 🌿 {\"$ne\": \"\"} AND OR ( )"`,
			want:  []listfilter.Condition{{Field: "tag", Op: listfilter.Eq, Value: `café 🌿 {"$ne": ""} AND OR ( )`}},
		},
		{
			name:  "bare value that only starts like a keyword",
			input: "tag = AND_OR",
			want:  []listfilter.Condition{{Field: "tag", Op: listfilter.Eq, Value: "AND_OR"}},
		},
		{
			name:  "title contains, quoted",
			input: `title:"Kratom \"withdrawal\""`,
			want:  []listfilter.Condition{{Field: "title", Op: listfilter.Has, Value: `Kratom "withdrawal"`}},
		},
		{
			name:  "title contains, bare, spaced, beside other conditions",
			input: `state = DRAFT AND title : kratom AND tag = x`,
			want: []listfilter.Condition{
				{Field: "state", Op: listfilter.Eq, Value: "DRAFT"},
				{Field: "title", Op: listfilter.Has, Value: "kratom"},
				{Field: "tag", Op: listfilter.Eq, Value: "x"},
			},
		},
		{
			name:  "title contains a colon",
			input: `title:a:b`,
			want:  []listfilter.Condition{{Field: "title", Op: listfilter.Has, Value: "a:b"}},
		},
		{
			name:  "example from the API",
			input: `state = PUBLISHED AND tag = "kratom" AND update_time > "2026-01-01T00:00:00Z"`,
			want: []listfilter.Condition{
				{Field: "state", Op: listfilter.Eq, Value: "PUBLISHED"},
				{Field: "tag", Op: listfilter.Eq, Value: "kratom"},
				{Field: "update_time", Op: listfilter.Gt, Time: date(t, "2026-01-01T00:00:00Z")},
			},
		},
		{
			name:  "all time operators, both field spellings, bare and quoted",
			input: "update_time = 2026-01-01T00:00:00Z AND updateTime != 2026-01-02T00:00:00Z AND update_time < \"2026-01-03T00:00:00Z\" AND updateTime <= 2026-01-04T00:00:00Z AND update_time > 2026-01-05T00:00:00Z AND update_time >= 2026-01-06T00:00:00Z",
			want: []listfilter.Condition{
				{Field: "update_time", Op: listfilter.Eq, Time: date(t, "2026-01-01T00:00:00Z")},
				{Field: "updateTime", Op: listfilter.Ne, Time: date(t, "2026-01-02T00:00:00Z")},
				{Field: "update_time", Op: listfilter.Lt, Time: date(t, "2026-01-03T00:00:00Z")},
				{Field: "updateTime", Op: listfilter.Le, Time: date(t, "2026-01-04T00:00:00Z")},
				{Field: "update_time", Op: listfilter.Gt, Time: date(t, "2026-01-05T00:00:00Z")},
				{Field: "update_time", Op: listfilter.Ge, Time: date(t, "2026-01-06T00:00:00Z")},
			},
		},
		{
			name:  "time offset converted to UTC, fractional seconds kept",
			input: `update_time >= "2026-01-01T05:30:00.123456789+05:30"`,
			want:  []listfilter.Condition{{Field: "update_time", Op: listfilter.Ge, Time: date(t, "2026-01-01T00:00:00.123456789Z")}},
		},
		{
			name:  "whitespace of every kind between tokens",
			input: "\ttag\n=\r\nx\n\tAND\r\nstate= DRAFT  ",
			want: []listfilter.Condition{
				{Field: "tag", Op: listfilter.Eq, Value: "x"},
				{Field: "state", Op: listfilter.Eq, Value: "DRAFT"},
			},
		},
		{
			name:  "same field twice",
			input: "update_time >= 2026-01-01T00:00:00Z AND update_time < 2026-02-01T00:00:00Z",
			want: []listfilter.Condition{
				{Field: "update_time", Op: listfilter.Ge, Time: date(t, "2026-01-01T00:00:00Z")},
				{Field: "update_time", Op: listfilter.Lt, Time: date(t, "2026-02-01T00:00:00Z")},
			},
		},
		{
			name:  "exactly MaxLength bytes",
			input: "tag = x" + strings.Repeat(" ", listfilter.MaxLength-len("tag = x")),
			want:  []listfilter.Condition{{Field: "tag", Op: listfilter.Eq, Value: "x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := listfilter.Parse(tt.input, testSchema())
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.input, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.input, diff)
			}
			for _, c := range got {
				if !c.Time.IsZero() && c.Time.Location() != time.UTC {
					t.Errorf("condition %+v: time not in UTC", c)
				}
			}
		})
	}
}

func TestParseMaxConditions(t *testing.T) {
	got, err := listfilter.Parse(nConditions(listfilter.MaxConditions), testSchema())
	if err != nil {
		t.Fatalf("Parse(%d conditions) error: %v", listfilter.MaxConditions, err)
	}
	if len(got) != listfilter.MaxConditions {
		t.Errorf("got %d conditions, want %d", len(got), listfilter.MaxConditions)
	}
}

func TestParseInvalid(t *testing.T) {
	tooMany := nConditions(listfilter.MaxConditions + 1)
	tests := []struct {
		name  string
		input string
		want  string // the exact violation description
	}{
		// Fields.
		{"dollar field", "$where = 1", `unknown field "$where" at 0`},
		{"dotted field", "a.b = 1", `unknown field "a.b" at 0`},
		{"field names are case-sensitive", "Tag = x", `unknown field "Tag" at 0`},
		{"unknown field after AND", "tag = x AND body = y", `unknown field "body" at 12`},
		{"json document as filter", `{"$ne": ""}`, `expected a field name at 0, found '{'`},
		{"quoted field", `"tag" = x`, `expected a field name at 0, found a string`},
		{"operator first", "= x", `expected a field name at 0, found '='`},
		{"AND first", "AND tag = x", `expected a field name at 0, found AND`},
		{"double AND", "tag = x AND AND state = DRAFT", `expected a field name at 12, found AND`},
		{"dangling AND", "tag = x AND", `expected a field name after AND at 11, found end of filter`},
		{"dangling AND and spaces", "tag = x AND  ", `expected a field name after AND at 13, found end of filter`},

		// Unsupported syntax.
		{"OR", `tag = "x" OR tag = "y"`, `OR is not supported at 10`},
		{"OR where a field is expected", "tag = x AND OR", `OR is not supported at 12`},
		{"NOT", "NOT tag = x", `NOT is not supported at 0`},
		{"NOT between conditions", "tag = x NOT state = DRAFT", `NOT is not supported at 8`},
		{"negation", "-tag = x", `negation ("-") is not supported at 0`},
		{"parentheses first", "(tag = x)", `parentheses are not supported at 0`},
		{"parentheses after AND", "tag = x AND (state = DRAFT)", `parentheses are not supported at 12`},
		{"closing parenthesis after value", "tag = x)", `parentheses are not supported at 7`},
		{"parenthesis as value", "tag = (x)", `parentheses are not supported at 6`},
		{"parenthesis where AND expected", "tag = x (", `parentheses are not supported at 8`},
		{"parenthesis as operator", "tag (x)", `parentheses are not supported at 4`},
		{"has operator", "tag:kratom", `the has operator ":" is not supported at 3`},
		{"has operator on a time", `update_time:"2026"`, `the has operator ":" is not supported at 11`},
		{"equals on text", `title = "kratom"`, `operator "=" is not allowed for field "title" at 6: use title:"text" (contains)`},
		{"not equals on text", `title != x`, `operator "!=" is not allowed for field "title" at 6: use title:"text" (contains)`},
		{"empty text", `title:""`, `empty value for title at 6: want the text to look for`},
		{"has without value", `title:`, `missing value for title at 6`},
		{"function as field", `has(tag, "x")`, `functions are not supported at 0`},
		{"function as value", "update_time > now()", `functions are not supported at 14`},
		{"double equals", "tag == x", `operator "==" is not supported at 4: use "="`},
		{"bang alone", "tag ! x", `expected an operator after tag at 4, found '!'`},
		{"single quotes", "tag = 'x'", `single-quoted strings are not supported at 6: use double quotes`},
		{"implicit AND", "tag = x tag = y", `expected AND at 8, found "tag"`},
		{"lower-case and", "tag = x and state = DRAFT", `expected AND at 8, found "and": keywords are upper case`},
		{"lower-case or", "tag = x or state = DRAFT", `expected AND at 8, found "or": keywords are upper case`},

		// Operators.
		{"missing operator", "tag", `expected an operator after tag at 3, found end of filter`},
		{"word instead of operator", "tag kratom", `expected an operator after tag at 4, found "kratom"`},
		{"range on string", "tag > x", `operator ">" is not allowed for field "tag" at 4`},
		{"range on enum", "state <= DRAFT", `operator "<=" is not allowed for field "state" at 6`},

		// Values.
		{"missing value", "tag =", `missing value for tag at 5`},
		{"missing value before AND", "tag = AND state = DRAFT", `expected a value for tag at 6, found keyword AND: quote it to use it as a value`},
		{"json object as value", `tag = {"$gt": ""}`, `expected a value for tag at 6, found '{'`},
		{"dollar operator as value", "tag = $gt", `expected a value for tag at 6, found '$'`},
		{"quote glued to value", `tag = x"y"`, `unexpected '"' after value at 7: separate conditions with " AND " and quote values with other characters`},
		{"string glued to AND", `tag = "x"AND state = DRAFT`, `unexpected 'A' after value at 9: separate conditions with " AND " and quote values with other characters`},
		{"non-ASCII bare value", "tag = café", `unexpected 'é' after value at 9: separate conditions with " AND " and quote values with other characters`},
		{"statement separator", "tag = x; drop", `unexpected ';' after value at 7: separate conditions with " AND " and quote values with other characters`},
		{"garbage after filter", "tag = x ; drop", `expected AND at 8, found ';'`},
		{"unterminated string", `tag = "abc`, `unterminated string at 6`},
		{"unterminated after escape", `tag = "abc\`, `unterminated string at 6`},
		{"unterminated after escaped quote", `tag = "abc\"`, `unterminated string at 6`},
		{"unknown escape", `tag = "a\nb"`, `invalid escape "\\n" at 8: only \" and \\ are supported`},
		{"unknown enum value", "state = ARCHIVED", `invalid value "ARCHIVED" for state at 8: want one of DRAFT, PUBLISHED`},
		{"empty enum value", `state = ""`, `invalid value "" for state at 8: want one of DRAFT, PUBLISHED`},
		{"empty time", `update_time > ""`, `empty time for update_time at 14: want RFC 3339`},
		{"word time", "update_time > yesterday", `invalid time "yesterday" for update_time at 14: want RFC 3339`},
		{"date without time", `update_time > "2026-01-01"`, `invalid time "2026-01-01" for update_time at 14: want RFC 3339`},
		{"time without zone", `update_time > "2026-01-01T00:00:00"`, `invalid time "2026-01-01T00:00:00" for update_time at 14: want RFC 3339`},
		{"unix seconds", "update_time > 1767225600", `invalid time "1767225600" for update_time at 14: want RFC 3339`},
		{"time before year 0 in UTC", `update_time > "0000-01-01T00:00:00+01:00"`, `time "0000-01-01T00:00:00+01:00" for update_time at 14 is out of range`},

		// Characters and limits.
		{"newline inside string", "tag = \"a\nb\"", `control character U+000A at 8`},
		{"tab inside string", "tag = \"a\tb\"", `control character U+0009 at 8`},
		{"NUL", "tag = \"a\x00\"", `control character U+0000 at 8`},
		{"bell outside string", "tag = x\a", `control character U+0007 at 7`},
		{"DEL", "tag\x7f= x", `control character U+007F at 3`},
		{"C1 control", "tag = \"\u0085\"", `control character U+0085 at 7`},
		{"invalid UTF-8", "tag = \"\xff\"", `invalid UTF-8 at 7`},
		{"truncated UTF-8", "tag = \"\xc3\"", `invalid UTF-8 at 7`},
		{"too many conditions", tooMany, fmt.Sprintf("too many conditions at %d: at most %d", strings.LastIndex(tooMany, "tag"), listfilter.MaxConditions)},
		{"too long", "tag = x" + strings.Repeat(" ", listfilter.MaxLength-len("tag = x")+1), fmt.Sprintf("filter is too long: %d bytes, at most %d", listfilter.MaxLength+1, listfilter.MaxLength)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := listfilter.Parse(tt.input, testSchema())
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error %q", tt.input, got, tt.want)
			}
			if got != nil {
				t.Errorf("Parse(%q) returned conditions %+v with an error", tt.input, got)
			}
			if desc := filterViolation(t, err); desc != tt.want {
				t.Errorf("Parse(%q) error description:\n got %s\nwant %s", tt.input, desc, tt.want)
			}
		})
	}
}

// A broken schema is the caller's bug: it must surface as an internal error (not an
// *apperr.Error, whose text would be shown to the client), and only when the field is used.
func TestParseBrokenSchema(t *testing.T) {
	schema := listfilter.Schema{
		"tag":      {Kind: listfilter.String},
		"nokind":   {},
		"badkind":  {Kind: listfilter.Kind(99)},
		"noValues": {Kind: listfilter.Enum},
	}
	for _, input := range []string{"nokind = x", "badkind = x", "noValues = x"} {
		t.Run(input, func(t *testing.T) {
			_, err := listfilter.Parse(input, schema)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded with a broken schema field", input)
			}
			if e, ok := apperr.As(err); ok {
				t.Errorf("Parse(%q) error = %v, an *apperr.Error (%q); want an internal error", input, e, e.Code)
			}
		})
	}
	t.Run("unused broken fields", func(t *testing.T) {
		got, err := listfilter.Parse("tag = x", schema)
		if err != nil {
			t.Fatalf("Parse error: %v", err)
		}
		want := []listfilter.Condition{{Field: "tag", Op: listfilter.Eq, Value: "x"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestParseNilSchema(t *testing.T) {
	_, err := listfilter.Parse("tag = x", nil)
	if desc := filterViolation(t, err); desc != `unknown field "tag" at 0` {
		t.Errorf("description = %q", desc)
	}
}

// format writes conditions back as a filter that Parse must read to the same conditions.
func format(schema listfilter.Schema, conds []listfilter.Condition) string {
	parts := make([]string, len(conds))
	for i, c := range conds {
		v := c.Value
		if schema[c.Field].Kind == listfilter.Time {
			v = c.Time.Format(time.RFC3339Nano)
		}
		v = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v)
		parts[i] = fmt.Sprintf("%s %s \"%s\"", c.Field, c.Op, v)
	}
	return strings.Join(parts, " AND ")
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"state = PUBLISHED",
		`state = PUBLISHED AND tag = "kratom" AND update_time > "2026-01-01T00:00:00Z"`,
		`tag != "a \"quoted\" \\ value"`,
		`updateTime <= "2026-01-01T05:30:00.5+05:30"`,
		nConditions(listfilter.MaxConditions),
		nConditions(listfilter.MaxConditions + 1),
		// Injection payloads.
		`{"$ne": ""}`,
		`tag = {"$gt": ""}`,
		`$where = 1`,
		`$where = "function() { return true }"`,
		`a.b = 1`,
		`tag.$ne = x`,
		`tag = x OR 1 = 1`,
		`tag = "x" OR "1" = "1"`,
		`tag = "x\" OR tag = \"y"`,
		`tag = x; db.dropDatabase()`,
		`tag = /.*/`,
		`tag = "\u0000"`,
		"tag = \"\x00\"",
		"tag = \"\xff\xfe\"",
		`NOT tag = x`,
		`-tag = x`,
		`(tag = x)`,
		`tag:x`,
		`title:"kratom"`,
		`title:kratom AND state = DRAFT`,
		`title = x`,
		`title:""`,
		`title:"a \"b\" \\ c" AND title:d`,
		`title:{"$regex": ".*"}`,
		`title:".*"`,
		`has(tag)`,
		`update_time > now()`,
		`update_time > ""`,
		`tag = "unterminated`,
		`state = draft and tag = x`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		schema := testSchema()
		conds, err := listfilter.Parse(input, schema)
		if err != nil {
			filterViolation(t, err)
			if conds != nil {
				t.Fatalf("Parse(%q) returned conditions with an error", input)
			}
			return
		}
		if len(conds) > listfilter.MaxConditions {
			t.Fatalf("Parse(%q) returned %d conditions, more than %d", input, len(conds), listfilter.MaxConditions)
		}
		for _, c := range conds {
			field, ok := schema[c.Field]
			if !ok {
				t.Fatalf("Parse(%q): condition field %q is not in the schema", input, c.Field)
			}
			switch field.Kind {
			case listfilter.String:
				if c.Op != listfilter.Eq && c.Op != listfilter.Ne || !c.Time.IsZero() {
					t.Fatalf("Parse(%q): bad string condition %+v", input, c)
				}
			case listfilter.Enum:
				if !slices.Contains(field.Values, c.Value) || c.Op != listfilter.Eq && c.Op != listfilter.Ne || !c.Time.IsZero() {
					t.Fatalf("Parse(%q): bad enum condition %+v", input, c)
				}
			case listfilter.Text:
				if c.Op != listfilter.Has || c.Value == "" || !c.Time.IsZero() {
					t.Fatalf("Parse(%q): bad text condition %+v", input, c)
				}
			case listfilter.Time:
				if c.Time.Location() != time.UTC || c.Value != "" {
					t.Fatalf("Parse(%q): bad time condition %+v", input, c)
				}
				switch c.Op {
				case listfilter.Eq, listfilter.Ne, listfilter.Lt, listfilter.Le, listfilter.Gt, listfilter.Ge:
				default:
					t.Fatalf("Parse(%q): bad operator in %+v", input, c)
				}
			}
		}
		// What was parsed must read back the same when written out canonically.
		canonical := format(schema, conds)
		again, err := listfilter.Parse(canonical, schema)
		if err != nil {
			// The canonical form may exceed MaxLength (escapes, long times); nothing else may fail.
			if desc := filterViolation(t, err); !strings.HasPrefix(desc, "filter is too long") {
				t.Fatalf("Parse(%q) = %+v, but its canonical form %q fails: %v", input, conds, canonical, err)
			}
			return
		}
		if diff := cmp.Diff(conds, again); diff != "" {
			t.Fatalf("Parse(%q) and Parse(%q) differ (-first +second):\n%s", input, canonical, diff)
		}
	})
}
