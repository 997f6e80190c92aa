// Package instruments ships the screening instruments Beacon offers out of the box, as data:
// one Questionnaire in protojson form per file under data/ (the same JSON the management API
// takes, so a file can be posted to POST /v1/questionnaires as it is).
//
// Only instruments whose licence allows shipping them are here, each with its source and
// licence filled in:
//   - taps-1: TAPS tool part 1 (NIDA Clinical Trials Network), public domain;
//   - cage-aid: CAGE-AID with the credit its author asks for; not copyrighted as reported, but
//     marked not for commercial use until that is confirmed;
//   - kratom-self-check: written for Beacon, paraphrasing the DSM-5 substance use disorder
//     criteria (never the APA's wording), CC BY 4.0.
//
// DAST-10 is not shipped: its licence requires a paid licence for commercial use.
package instruments

import (
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"

	screeningv1 "github.com/beaconcms/beacon/gen/beacon/screening/v1"
	"github.com/beaconcms/beacon/services/screening/internal/api"
	"github.com/beaconcms/beacon/services/screening/internal/domain"
	"google.golang.org/protobuf/encoding/protojson"
)

//go:embed data/*.json
var files embed.FS

// Instrument is one shipped questionnaire. Its content has no target sites: whoever loads it
// (beacon dev) chooses them.
type Instrument struct {
	Name    string // file name without ".json", e.g. "taps-1"
	Content domain.Content
}

// All returns every shipped instrument, ordered by name. It fails only if a shipped file is
// malformed, which the package tests rule out.
func All() ([]Instrument, error) {
	entries, err := files.ReadDir("data")
	if err != nil {
		return nil, err
	}
	var out []Instrument
	for _, e := range entries {
		raw, err := files.ReadFile(path.Join("data", e.Name()))
		if err != nil {
			return nil, err
		}
		var q screeningv1.Questionnaire
		if err := protojson.Unmarshal(raw, &q); err != nil {
			return nil, fmt.Errorf("instrument %s: %w", e.Name(), err)
		}
		c, err := api.ContentFromProto(&q, "")
		if err != nil {
			return nil, fmt.Errorf("instrument %s: %w", e.Name(), err)
		}
		c.Normalize()
		out = append(out, Instrument{Name: strings.TrimSuffix(e.Name(), ".json"), Content: c})
	}
	slices.SortFunc(out, func(a, b Instrument) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
