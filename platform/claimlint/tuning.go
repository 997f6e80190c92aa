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
//
// This file is the operator's default layer. A site's own tuning (its lint_tuning setting in the
// sites service, handed to Lint as Input.SiteTunings) is layered over it rule by rule.
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

// severity returns the severity of r for a text on sites, and whether r is on at all. own holds
// the sites' own tunings (Input.SiteTunings), layered over t per rule (see siteSeverity).
func (t Tuning) severity(r *rule, sites []string, own map[string]SiteTuning) (Severity, bool) {
	if len(sites) == 0 || (len(t.Sites) == 0 && len(own) == 0) {
		return r.severity, true
	}
	var sev Severity
	on := false
	for _, site := range sites {
		s, siteOn := siteSeverity(r, t.Sites[site], own[site])
		if !siteOn {
			continue
		}
		on = true
		sev = max(sev, s)
	}
	return sev, on
}

// siteSeverity returns the severity of r on one site, and whether r is on there. The site's own
// tuning decides a rule it names (disabled, or given a valid severity); the file's tuning
// decides the others; a rule neither names keeps its severity from the rules file. An entry of
// the site's own tuning that names a severity this engine cannot read is ignored (the sites
// service validates them on write against its own rules file, which may be another revision).
func siteSeverity(r *rule, file, own SiteTuning) (Severity, bool) {
	if slices.Contains(own.Disable, r.id) {
		return 0, false
	}
	if v, ok := own.Severity[r.id]; ok {
		if s, err := ParseSeverity(v); err == nil {
			return s, true
		}
	}
	if slices.Contains(file.Disable, r.id) {
		return 0, false
	}
	if v, ok := file.Severity[r.id]; ok {
		s, _ := ParseSeverity(v) // checked by New
		return s, true
	}
	return r.severity, true
}

// RuleIDs lists the ids of the rules in a rules file (see Builtin), in file order. It reads the
// file without compiling its patterns, for a caller that only validates rule ids (the sites
// service, checking a site's lint tuning).
func RuleIDs(rulesFile []byte) ([]string, error) {
	f, err := parseRuleFile(rulesFile)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(f.Rules))
	for _, r := range f.Rules {
		ids = append(ids, r.ID)
	}
	return ids, nil
}
