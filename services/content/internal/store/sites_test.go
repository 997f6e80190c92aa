package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/services/content/internal/domain"
)

func newSite(id string) *domain.Site {
	return &domain.Site{
		ID:                 id,
		DisplayName:        "Site " + id,
		BaseURL:            "https://" + id + ".example",
		DefaultLocale:      "en-US",
		CrisisLineText:     "Call 988",
		Public:             true,
		CacheMaxAgeSeconds: 120,
		CreateTime:         t0,
		UpdateTime:         t0,
		Revision:           1,
	}
}

func TestSites(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	for _, id := range []string{"recovery-today", "kratom-help", "zz-last"} {
		if err := s.CreateSite(ctx, newSite(id)); err != nil {
			t.Fatalf("CreateSite(%s): %v", id, err)
		}
	}

	t.Run("create duplicate", func(t *testing.T) {
		err := s.CreateSite(ctx, newSite("kratom-help"))
		wantCode(t, err, apperr.AlreadyExists)
		if want := "sites/kratom-help already exists"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	})
	t.Run("get", func(t *testing.T) {
		got, err := s.GetSite(ctx, "kratom-help")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(newSite("kratom-help"), got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		_, err = s.GetSite(ctx, "nope")
		wantCode(t, err, apperr.NotFound)
	})

	listTests := []struct {
		after string
		limit int
		want  []string
	}{
		{"", 0, []string{"kratom-help", "recovery-today", "zz-last"}},
		{"", 2, []string{"kratom-help", "recovery-today"}},
		{"recovery-today", 2, []string{"zz-last"}},
		{"kratom", 1, []string{"kratom-help"}},
		{"zz-last", 2, nil},
	}
	for _, tt := range listTests {
		got, err := s.ListSites(ctx, tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []string
		for _, site := range got {
			gotIDs = append(gotIDs, site.ID)
		}
		if !cmp.Equal(gotIDs, tt.want) {
			t.Errorf("ListSites(%q, %d) = %v, want %v", tt.after, tt.limit, gotIDs, tt.want)
		}
	}

	updated := newSite("kratom-help")
	updated.DisplayName, updated.Public, updated.Revision, updated.UpdateTime = "Kratom Help", false, 2, t0.Add(time.Hour)
	updateTests := []struct {
		name    string
		site    *domain.Site
		prevRev int64
		code    apperr.Code
		want    *domain.Site // stored afterwards
	}{
		{"current revision", updated, 1, "", updated},
		{"stale revision", &domain.Site{ID: "kratom-help", DisplayName: "Lost", Revision: 2}, 1, apperr.Conflict, updated},
		{"missing", newSite("nope"), 1, apperr.NotFound, nil},
	}
	for _, tt := range updateTests {
		t.Run("update/"+tt.name, func(t *testing.T) {
			err := s.UpdateSite(ctx, tt.site, tt.prevRev)
			if tt.code == "" && err != nil {
				t.Fatalf("UpdateSite: %v", err)
			}
			if tt.code != "" {
				wantCode(t, err, tt.code)
			}
			if tt.want != nil {
				got, err := s.GetSite(ctx, tt.want.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("stored (-want +got):\n%s", diff)
				}
			}
		})
	}

	t.Run("concurrent updates", func(t *testing.T) {
		cur, err := s.GetSite(ctx, "recovery-today")
		if err != nil {
			t.Fatal(err)
		}
		const writers = 6
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for i := range writers {
			n := *cur
			n.DisplayName, n.Revision = fmt.Sprintf("Writer %d", i), cur.Revision+1
			wg.Go(func() { errs[i] = s.UpdateSite(ctx, &n, cur.Revision) })
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil && won >= 0:
				t.Errorf("writers %d and %d both succeeded", won, i)
			case err == nil:
				won = i
			case !apperr.Is(err, apperr.Conflict):
				t.Errorf("writer %d: %v", i, err)
			}
		}
		got, err := s.GetSite(ctx, "recovery-today")
		if err != nil || won < 0 || got.DisplayName != fmt.Sprintf("Writer %d", won) {
			t.Errorf("stored %+v, %v; winner %d", got, err, won)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := s.DeleteSite(ctx, "zz-last"); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetSite(ctx, "zz-last")
		wantCode(t, err, apperr.NotFound)
		wantCode(t, s.DeleteSite(ctx, "zz-last"), apperr.NotFound)
	})
}
