package claimlint

import (
	"bytes"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Tuning is how sites adjust the rules: per site, rules turned off and rules given another
// severity. It is data, read from a file (ParseTuning):
//
//	sites:
//	  demo:
//	    disable: [stigma-soft-term]
//	    severity:
//	      number-needs-citation: error
//
// A text published on several sites gets, for each rule, the strictest treatment among them: a
// rule is off only if every one of its sites turns it off, and its severity is the highest any of
// them gives it.
type Tuning struct {
	Sites map[string]SiteTuning `yaml:"sites"`
}

// SiteTuning is one site's adjustments.
type SiteTuning struct {
	Disable  []string          `yaml:"disable"`
	Severity map[string]string `yaml:"severity"`
}

// ParseTuning reads a tuning file (YAML). Unknown keys are refused.
func ParseTuning(data []byte) (Tuning, error) {
	var t Tuning
	if len(bytes.TrimSpace(data)) == 0 {
		return t, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return Tuning{}, fmt.Errorf("lint tuning: %w", err)
	}
	return t, nil
}

// check refuses a tuning that names a rule the engine does not have, or a bad severity.
func (t Tuning) check(e *Engine) error {
	for site, st := range t.Sites {
		for _, id := range st.Disable {
			if !e.hasRule(id) {
				return fmt.Errorf("lint tuning: site %s disables unknown rule %q", site, id)
			}
		}
		for id, s := range st.Severity {
			if !e.hasRule(id) {
				return fmt.Errorf("lint tuning: site %s sets the severity of unknown rule %q", site, id)
			}
			if _, err := ParseSeverity(s); err != nil {
				return fmt.Errorf("lint tuning: site %s, rule %s: %w", site, id, err)
			}
		}
	}
	return nil
}

// severity returns the severity of r for a text on sites, and whether r is on at all.
func (t Tuning) severity(r *rule, sites []string) (Severity, bool) {
	if len(sites) == 0 || len(t.Sites) == 0 {
		return r.severity, true
	}
	var sev Severity
	on := false
	for _, site := range sites {
		st := t.Sites[site]
		if slices.Contains(st.Disable, r.id) {
			continue
		}
		on = true
		s := r.severity
		if v, ok := st.Severity[r.id]; ok {
			s, _ = ParseSeverity(v) // checked by New
		}
		sev = max(sev, s)
	}
	return sev, on
}
