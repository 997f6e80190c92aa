// Package demo holds the demo directory `beacon dev` loads for sites/kratom-help: two real
// national services whose public contact details are stable and well known (the 988 Suicide &
// Crisis Lifeline and SAMHSA's National Helpline), and example listings, each labelled
// "(example data)" with example.org addresses and 555 numbers.
package demo

import _ "embed"

// DirectoryCSV is the demo directory in the import CSV format (see package csvfile).
//
//go:embed directory.csv
var DirectoryCSV string

// Site is the site the demo directory is for.
const Site = "kratom-help"

// Directory is a demo directory: entries by the demo CSV's external ids, and an optional rule.
type Directory struct {
	Title, Slug, Intro string
	Entries            []Entry
	RuleKinds          []string // kind names, e.g. "SUPPORT_GROUP"
}

// Entry is one hand-picked demo entry.
type Entry struct{ ExternalID, Note string }

// Directories are the demo site's directories. "crisis-lines" sets the order of the site's
// crisis lines (GET /v1/sites/kratom-help/crisis-lines).
var Directories = []Directory{
	{Title: "Crisis lines", Slug: "crisis-lines", Intro: "Free, confidential help, any time.",
		Entries: []Entry{{ExternalID: "988-lifeline", Note: "Call or text 988"}, {ExternalID: "samhsa-national-helpline", Note: "Treatment referral and information"}}},
	{Title: "Peer support and online communities", Slug: "peer-support",
		Intro:     "People who have been there. *The listings below, apart from the national lines, are example data.*",
		Entries:   []Entry{{ExternalID: "example-text-line", Note: "When you would rather text"}},
		RuleKinds: []string{"ONLINE_COMMUNITY", "SUPPORT_GROUP", "PEER_SUPPORT"}},
}
