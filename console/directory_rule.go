package console

import (
	"net/http"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	resourcesv1 "github.com/beaconcms/beacon/gen/beacon/resources/v1"
)

// A directory's rule, edited in its editor: after the hand-picked entries, the directory lists
// the site's resources that match every set part of the rule (kinds, taxonomy terms, a
// region). The form is plain inputs; the resources service validates the rule and each
// refusal is shown beside its input.

// directoryRuleForm is the rule form's values, as shown and as posted.
type directoryRuleForm struct {
	On                          bool            // the directory has a rule
	Kinds                       map[string]bool // enum names without KIND_ ("CRISIS_LINE")
	Taxonomy                    string          // terms, comma-separated
	Country, Region, PostalCode string          // the region; postal codes comma-separated
	KindOptions                 []option
}

// ruleFormOf is the form of a stored rule (nil: none).
func ruleFormOf(rule *resourcesv1.DirectoryRule) directoryRuleForm {
	f := directoryRuleForm{On: rule != nil, Kinds: map[string]bool{}, KindOptions: resourceKinds}
	if rule == nil {
		return f
	}
	for _, k := range rule.GetKinds() {
		f.Kinds[strings.TrimPrefix(k.String(), "KIND_")] = true
	}
	f.Taxonomy = strings.Join(rule.GetTaxonomyTerms(), ", ")
	if a := rule.GetRegion(); a != nil {
		f.Country, f.Region, f.PostalCode = a.GetCountry(), a.GetRegion(), strings.Join(a.GetPostalCodes(), ", ")
	}
	return f
}

// commaList splits a comma-separated input into its non-empty trimmed parts.
func commaList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// ruleOfPost is the rule a posted form asks for: nil when the rule is switched off. A kind
// that is not one of the enum's names is sent as unspecified, which the service refuses,
// naming it; a region is sent when any of its inputs is filled.
func ruleOfPost(r *http.Request) *resourcesv1.DirectoryRule {
	if r.PostFormValue("rule_on") != "on" {
		return nil
	}
	rule := &resourcesv1.DirectoryRule{TaxonomyTerms: commaList(r.PostFormValue("rule_taxonomy"))}
	for _, k := range r.PostForm["rule_kinds"] {
		rule.Kinds = append(rule.Kinds, resourcesv1.Kind(resourcesv1.Kind_value["KIND_"+k]))
	}
	country, region := strings.ToUpper(strings.TrimSpace(r.PostFormValue("rule_country"))), strings.ToUpper(strings.TrimSpace(r.PostFormValue("rule_region")))
	postal := commaList(r.PostFormValue("rule_postal_codes"))
	if country != "" || region != "" || len(postal) > 0 {
		rule.Region = &resourcesv1.ServiceArea{Country: country, Region: region, PostalCodes: postal}
	}
	return rule
}

// directoryRule saves the rule (UpdateDirectory with the mask "rule") over the version the user
// opened; switched off, the directory has no rule.
func (c *Console) directoryRule(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.sessionOrSignIn(w, r)
	if !ok || !c.parseForm(w, r) {
		return
	}
	name := "directories/" + r.PathValue("id")
	rule := ruleOfPost(r)
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	_, err := c.directories.UpdateDirectory(ctx, &resourcesv1.UpdateDirectoryRequest{
		Directory:  &resourcesv1.Directory{Name: name, Etag: r.PostFormValue("etag"), Rule: rule},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"rule"}}})
	c.afterDirectoryWrite(w, r, token, sess, name, err, func(current *resourcesv1.Directory) {
		current.Rule = rule // the user's rule beside the refusal, not the stored one
	}, "rule=1")
}
