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
