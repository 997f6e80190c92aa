package resources

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/beaconcms/beacon/platform/claimlint"
	"github.com/beaconcms/beacon/services/resources/internal/domain"
	"github.com/beaconcms/beacon/services/sites/sitecatalog"
)

type fixedCatalog map[string]sitecatalog.Site

func (c fixedCatalog) Lookup(_ context.Context, id string) (sitecatalog.Site, bool, error) {
	s, ok := c[id]
	return s, ok, nil
}

// TestCatalogAdapterCarriesTheResourceSettings: the site settings resources use come from the
// catalog as set on the site.
func TestCatalogAdapterCarriesTheResourceSettings(t *testing.T) {
	a := catalogAdapter{fixedCatalog{
		"strict": {ID: "strict", ResourceStaleAfterDays: 30, HideStaleResources: true, Public: true,
			LintTuning: claimlint.SiteTuning{Disable: []string{"stigma-soft-term"}}},
		"gone": {ID: "gone", DeleteTime: time.Unix(1, 0)},
	}}
	tests := []struct {
		id     string
		want   domain.SiteSettings
		wantOK bool
		public bool
	}{
		{id: "strict", want: domain.SiteSettings{ID: "strict", StaleAfterDays: 30, HideStale: true,
			LintTuning: claimlint.SiteTuning{Disable: []string{"stigma-soft-term"}}}, wantOK: true, public: true},
		{id: "gone", want: domain.SiteSettings{ID: "gone", Deleted: true}, wantOK: true},
		{id: "missing", want: domain.SiteSettings{ID: "missing"}},
	}
	for _, tt := range tests {
		got, ok, err := a.Site(t.Context(), tt.id)
		if err != nil || ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Site(%s) = %+v, %v, %v; want %+v, %v", tt.id, got, ok, err, tt.want, tt.wantOK)
		}
		if p := a.Public(t.Context(), tt.id); p != tt.public {
			t.Errorf("Public(%s) = %v, want %v", tt.id, p, tt.public)
		}
	}
}
