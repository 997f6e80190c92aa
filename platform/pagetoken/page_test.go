package pagetoken_test

import (
	"slices"
	"testing"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/pagetoken"
)

func TestSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   int32
		want int
		bad  bool
	}{{0, 20, false}, {1, 1, false}, {100, 100, false}, {101, 100, false}, {-1, 0, true}} {
		got, err := pagetoken.Size(tc.in)
		if tc.bad {
			if e, ok := apperr.As(err); !ok || len(e.Fields) != 1 || e.Fields[0].Field != "page_size" {
				t.Errorf("Size(%d) = %v, want an error naming page_size", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Size(%d) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// PageBefore walks a descending list page by page, each item once, and refuses a token made
// for another scope.
func TestPageBefore(t *testing.T) {
	t.Parallel()
	codec, err := pagetoken.NewCodec([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	revisions := []int64{7, 6, 5, 4, 3, 2, 1}
	fetch := func(before int64, limit int) ([]int64, error) {
		var out []int64
		for _, r := range revisions {
			if (before == 0 || r < before) && len(out) < limit {
				out = append(out, r)
			}
		}
		return out, nil
	}
	key := func(r int64) int64 { return r }
	var got []int64
	token, pages := "", 0
	for {
		page, next, err := pagetoken.PageBefore(codec, "scope-a", token, 3, key, fetch)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		token = next
	}
	if !slices.Equal(got, revisions) || pages != 3 {
		t.Errorf("walked %v in %d pages, want %v in 3", got, pages, revisions)
	}
	_, next, _ := pagetoken.PageBefore(codec, "scope-a", "", 3, key, fetch)
	if _, _, err := pagetoken.PageBefore(codec, "scope-b", next, 3, key, fetch); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("a token of another scope: %v, want invalid", err)
	}
}
