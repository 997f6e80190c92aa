package delivery

import (
	"testing"

	"github.com/beaconcms/beacon/platform/apperr"
)

func TestParsePageSize(t *testing.T) {
	tests := []struct {
		raw     string
		want    int
		wantErr bool
	}{
		{"", 20, false},
		{"0", 20, false},
		{"1", 1, false},
		{"20", 20, false},
		{"99", 99, false},
		{"100", 100, false},
		{"101", 100, false},
		{"1000000", 100, false},
		{"99999999999999999999999", 0, true}, // overflows int
		{"-1", 0, true},
		{"abc", 0, true},
		{"1.5", 0, true},
		{" 5", 0, true},
		{"+5", 5, false}, // strconv.Atoi accepts a sign
		{"0x10", 0, true},
	}
	for _, tt := range tests {
		got, err := parsePageSize(tt.raw, "pageSize", 20, 100)
		if tt.wantErr {
			if !apperr.Is(err, apperr.Invalid) {
				t.Errorf("parsePageSize(%q) error = %v, want an Invalid error", tt.raw, err)
			} else if e, _ := apperr.As(err); len(e.Fields) != 1 || e.Fields[0].Field != "pageSize" {
				t.Errorf("parsePageSize(%q) error fields = %+v, want pageSize", tt.raw, e.Fields)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parsePageSize(%q) = %d, %v; want %d", tt.raw, got, err, tt.want)
		}
	}
}
