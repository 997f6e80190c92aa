package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
)

// The score route is the hottest write-free path of screening, and protojson (reflection over
// the messages, google.protobuf.Value for every answer) was about a third of its CPU. These
// typed codecs read the body into the same ScoreScreenerRequest and write the same JSON
// protojson writes for ScoreScreenerResponse; TestScoreJSONMatchesProtojson holds them to
// that. Whatever they decode still goes through ScreenerServer.ScoreScreener, so validation
// and privacy rules stay in one place.

// scoreBody is the REST body of a score. Like protojson it takes the JSON names and the proto
// names; site and slug come from the path and are ignored in the body, as the gateway did.
type scoreBody struct {
	Version json.RawMessage `json:"version"` // a number or a decimal string (int64 in protojson)
	Answers []answerBody    `json:"answers"`
	Near    *nearBody       `json:"near"`
	Site    string          `json:"site"`
	Slug    string          `json:"slug"`
}

type answerBody struct {
	LinkID      string          `json:"linkId"`
	LinkIDProto string          `json:"link_id"`
	Value       json.RawMessage `json:"value"`
}

type nearBody struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

var errBadBody = errors.New("the body is not a score request")

// decodeScoreBody reads raw into req (site and slug are left to the caller). Any error is
// errBadBody: it never says what was in the body.
func decodeScoreBody(raw []byte, req *screeningv1.ScoreScreenerRequest) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var b scoreBody
	if err := dec.Decode(&b); err != nil || dec.More() {
		return errBadBody
	}
	if len(b.Version) > 0 && string(b.Version) != "null" {
		text := string(b.Version)
		if unq, err := strconv.Unquote(text); err == nil {
			text = unq
		}
		v, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return errBadBody
		}
		req.Version = v
	}
	if b.Near != nil {
		req.Near = &screeningv1.Near{Latitude: b.Near.Latitude, Longitude: b.Near.Longitude}
	}
	req.Answers = make([]*screeningv1.Answer, len(b.Answers))
	for i, a := range b.Answers {
		id := a.LinkID
		if id == "" {
			id = a.LinkIDProto
		}
		v, err := valueOf(a.Value)
		if err != nil {
			return errBadBody
		}
		req.Answers[i] = &screeningv1.Answer{LinkId: id, Value: v}
	}
	return nil
}

// valueOf reads a JSON value as protojson reads google.protobuf.Value; nil when absent.
func valueOf(raw json.RawMessage) (*structpb.Value, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return nil, nil
	case string(raw) == "true" || string(raw) == "false":
		return structpb.NewBoolValue(raw[0] == 't'), nil
	case string(raw) == "null":
		return structpb.NewNullValue(), nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return structpb.NewStringValue(s), nil
	case raw[0] == '{' || raw[0] == '[':
		// Not an answer any question takes: kept as a list, which scoring reports by position.
		return structpb.NewListValue(&structpb.ListValue{}), nil
	}
	n, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return nil, err
	}
	return structpb.NewNumberValue(n), nil
}

// scoreJSON is ScoreScreenerResponse as protojson writes it: JSON names, int64 as a string,
// enums by name, zero values left out.
type scoreJSON struct {
	Name           string           `json:"name,omitempty"`
	Version        string           `json:"version,omitempty"`
	Score          int32            `json:"score,omitempty"`
	MaxScore       int32            `json:"maxScore,omitempty"`
	Band           *bandJSON        `json:"band,omitempty"`
	Disclaimer     string           `json:"disclaimer,omitempty"`
	Articles       *articlesJSON    `json:"articles,omitempty"`
	Resources      *resourcesJSON   `json:"resources,omitempty"`
	CrisisLines    []crisisLineJSON `json:"crisisLines,omitempty"`
	CrisisLineText string           `json:"crisisLineText,omitempty"`
}

type bandJSON struct {
	Code       string `json:"code,omitempty"`
	Title      string `json:"title,omitempty"`
	ResultHTML string `json:"resultHtml,omitempty"`
	Severity   string `json:"severity,omitempty"`
}

type articlesJSON struct {
	Unavailable bool          `json:"unavailable,omitempty"`
	Articles    []articleJSON `json:"articles,omitempty"`
}

type articleJSON struct {
	Name    string `json:"name,omitempty"`
	Title   string `json:"title,omitempty"`
	Slug    string `json:"slug,omitempty"`
	Summary string `json:"summary,omitempty"`
	URL     string `json:"url,omitempty"`
}

type resourcesJSON struct {
	Unavailable bool           `json:"unavailable,omitempty"`
	Resources   []resourceJSON `json:"resources,omitempty"`
}

type resourceJSON struct {
	Name           string  `json:"name,omitempty"`
	Title          string  `json:"title,omitempty"`
	Kind           string  `json:"kind,omitempty"`
	Phone          string  `json:"phone,omitempty"`
	URL            string  `json:"url,omitempty"`
	DistanceMeters float64 `json:"distanceMeters,omitempty"`
}

type crisisLineJSON struct {
	Title string `json:"title,omitempty"`
	Phone string `json:"phone,omitempty"`
	SMS   string `json:"sms,omitempty"`
	URL   string `json:"url,omitempty"`
	Hours string `json:"hours,omitempty"`
}

// encodeScore writes r as protojson would (see scoreJSON).
func encodeScore(r *screeningv1.ScoreScreenerResponse) ([]byte, error) {
	out := scoreJSON{Name: r.GetName(), Score: r.GetScore(), MaxScore: r.GetMaxScore(), Disclaimer: r.GetDisclaimer(), CrisisLineText: r.GetCrisisLineText()}
	if r.GetVersion() != 0 {
		out.Version = strconv.FormatInt(r.GetVersion(), 10)
	}
	if b := r.GetBand(); b != nil {
		out.Band = &bandJSON{Code: b.GetCode(), Title: b.GetTitle(), ResultHTML: b.GetResultHtml()}
		if b.GetSeverity() != screeningv1.Severity_SEVERITY_UNSPECIFIED {
			out.Band.Severity = b.GetSeverity().String()
		}
	}
	if a := r.GetArticles(); a != nil {
		out.Articles = &articlesJSON{Unavailable: a.GetUnavailable()}
		for _, x := range a.GetArticles() {
			out.Articles.Articles = append(out.Articles.Articles, articleJSON{Name: x.GetName(), Title: x.GetTitle(), Slug: x.GetSlug(), Summary: x.GetSummary(), URL: x.GetUrl()})
		}
	}
	if rs := r.GetResources(); rs != nil {
		out.Resources = &resourcesJSON{Unavailable: rs.GetUnavailable()}
		for _, x := range rs.GetResources() {
			out.Resources.Resources = append(out.Resources.Resources, resourceJSON{Name: x.GetName(), Title: x.GetTitle(), Kind: x.GetKind(), Phone: x.GetPhone(), URL: x.GetUrl(), DistanceMeters: x.GetDistanceMeters()})
		}
	}
	for _, c := range r.GetCrisisLines() {
		out.CrisisLines = append(out.CrisisLines, crisisLineJSON{Title: c.GetTitle(), Phone: c.GetPhone(), SMS: c.GetSms(), URL: c.GetUrl(), Hours: c.GetHours()})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // protojson does not escape <, > and & either
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
