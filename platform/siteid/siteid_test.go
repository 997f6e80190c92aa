package siteid_test

import (
	"strings"
	"testing"

	"github.com/beaconcms/beacon/platform/siteid"
)

func TestValid(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"kratom-help", true},
		{"a", true},
		{"site2", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Kratom", false},
		{"-a", false},
		{"a-", false},
		{"a--b", false},
		{"a_b", false},
		{"sites/a", false},
		{"é", false},
	}
	for _, tt := range tests {
		if got := siteid.Valid(tt.id); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
