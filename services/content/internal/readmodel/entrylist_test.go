package readmodel

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/beaconcms/beacon/services/content/internal/domain"
)

// TestEntryListPatchesAgainstSlices applies random removals and insertions, in patches of
// random size, to an entryList and to a sorted slice, and checks after each patch that the
// list holds the slice's entries in order, that its chunks keep their bounds, that listing
// from a random cursor finds what a scan of the slice does, and at the end that no list derived
// before changed. Publish times collide often, so the order falls back on ids; the list grows
// to several thousand entries (chunks split) and shrinks to none (chunks go).
func TestEntryListPatchesAgainstSlices(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	newEntry := func(id int) *Entry {
		return &Entry{ID: fmt.Sprintf("a%05d", id), PublishTime: t0.Add(time.Duration(r.IntN(200)) * time.Minute)}
	}
	type version struct {
		l    *entryList
		want []*Entry
	}
	var history []version
	largest, emptied := 0, 0
	cur, want := newEntryList(nil), []*Entry(nil)
	live := map[string]*Entry{}
	nextID := 0
	for round := range 600 {
		var removed, added []*Entry
		grow := round < 250 || (round >= 400 && round < 500)
		listed := slices.Clone(want) // what a patch may remove: entries in the list, once each
		r.Shuffle(len(listed), func(i, j int) { listed[i], listed[j] = listed[j], listed[i] })
		changes := 1 + r.IntN(40)
		if !grow {
			changes *= 2
		}
		for range changes {
			if !grow && len(listed) == 0 {
				break
			}
			if len(listed) > 0 && (!grow || r.IntN(4) == 0) {
				e := listed[0]
				listed = listed[1:]
				removed = append(removed, e)
				delete(live, e.ID)
				if r.IntN(3) == 0 && (grow || r.IntN(4) == 0) { // republished: the same id, maybe the same time
					n := newEntry(0)
					n.ID = e.ID
					if r.IntN(2) == 0 {
						n.PublishTime = e.PublishTime
					}
					added = append(added, n)
					live[n.ID] = n
				}
				continue
			}
			e := newEntry(nextID)
			nextID++
			added = append(added, e)
			live[e.ID] = e
		}
		if r.IntN(5) == 0 { // an entry the list does not have
			removed = append(removed, newEntry(nextID+1000000))
		}
		next := cur.patched(removed, added)
		history = append(history, version{cur, want})
		want = slices.DeleteFunc(slices.Clone(want), func(e *Entry) bool { return slices.Contains(removed, e) })
		want = append(want, added...)
		slices.SortFunc(want, entryOrder)
		checkEntryList(t, fmt.Sprint("round ", round), next, want)
		largest = max(largest, len(want))
		if len(want) == 0 {
			emptied++
		}
		for range 3 {
			var c Cursor
			if len(want) > 0 && r.IntN(4) > 0 {
				e := want[r.IntN(len(want))]
				c = Cursor{T: e.PublishTime, I: e.ID}
				if r.IntN(2) == 0 {
					c.I += "x" // between two entries
				}
			} else {
				c = Cursor{T: t0.Add(time.Duration(r.IntN(220)-10) * time.Minute), I: "a"}
			}
			start := 0
			for start < len(want) && !c.after(want[start]) {
				start++
			}
			limit := r.IntN(300)
			var got []*Entry
			next.from(func(e *Entry) bool { return !c.after(e) }, func(e *Entry) bool {
				got = append(got, e)
				return len(got) < limit
			})
			if exp := want[start:min(len(want), start+max(limit, 1))]; !slices.Equal(got, exp) {
				t.Fatalf("round %d: from cursor %+v (limit %d): %d entries, want %d", round, c, limit, len(got), len(exp))
			}
		}
		cur = next
	}
	if len(live) != cur.len() {
		t.Fatalf("%d live, list of %d", len(live), cur.len())
	}
	if largest < 8*listChunk || emptied == 0 {
		t.Fatalf("the list grew to %d entries and was empty %d times: the test is too weak", largest, emptied)
	}
	for i, h := range history {
		checkEntryList(t, fmt.Sprint("version ", i, " after later patches"), h.l, h.want)
	}
}

func checkEntryList(t *testing.T, what string, l *entryList, want []*Entry) {
	t.Helper()
	if got := l.slice(); !slices.Equal(got, want) || l.len() != len(want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%s: entry %d is %s at %v, want %s at %v", what, i, got[i].ID, got[i].PublishTime, want[i].ID, want[i].PublishTime)
			}
		}
		t.Fatalf("%s: %d entries (len %d), want %d", what, len(got), l.len(), len(want))
	}
	if len(want) > 0 && l.first() != want[0] {
		t.Fatalf("%s: first %v, want %v", what, l.first().ID, want[0].ID)
	}
	for i, c := range l.chunks {
		if len(c) == 0 || len(c) >= 2*listChunk {
			t.Fatalf("%s: chunk %d of %d has %d entries", what, i, len(l.chunks), len(c))
		}
	}
}

// TestEntryListPatchCopiesOnlyTouchedChunks checks that a one-entry change to a list of 10,000
// copies one chunk and shares the others.
func TestEntryListPatchCopiesOnlyTouchedChunks(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var all []*Entry
	for i := range 10000 {
		all = append(all, &Entry{ID: fmt.Sprintf("a%05d", i), PublishTime: t0.Add(-time.Duration(i) * time.Minute)})
	}
	l := newEntryList(all)
	n := l.patched([]*Entry{all[5000]}, []*Entry{{ID: "new", PublishTime: t0.Add(-5000*time.Minute + time.Second)}})
	shared := 0
	for i := range l.chunks {
		if &l.chunks[i][0] == &n.chunks[i][0] {
			shared++
		}
	}
	if len(n.chunks) != len(l.chunks) || shared != len(l.chunks)-1 {
		t.Fatalf("%d of %d chunks shared, want all but one", shared, len(l.chunks))
	}
}

// TestListPageAcrossChunks pages through a site of 1,000 articles (eight chunks) with and
// without a tag and a topic, after publishes and unpublishes applied one by one, and checks
// every page against a filter over the articles sorted in listing order.
func TestListPageAcrossChunks(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	tags, topics := []string{"kratom", "sleep", "pain"}, []string{"t1", "t2"}
	pick := func(from []string) []string {
		var out []string
		for _, x := range from {
			if r.IntN(2) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	m := newTestModel(newCatalog(testSite("s1")))
	var loaded []*domain.Article
	for i := range 1000 {
		loaded = append(loaded, liveArticle(fmt.Sprintf("a%04d", i), 1, fmt.Sprintf("slug-%d", i), nil, r.IntN(300), pick(tags), pick(topics), "s1"))
	}
	if _, err := m.Load(t.Context(), source{loaded}); err != nil {
		t.Fatal(err)
	}
	for i := range 200 { // republished elsewhere in the order, with other labels, or unpublished
		id := fmt.Sprintf("a%04d", r.IntN(1000))
		if r.IntN(3) == 0 {
			m.ApplyArticles(&domain.Article{ID: id, State: domain.StateDraft, RevisionID: int64(2 + i)})
			continue
		}
		m.ApplyArticles(liveArticle(id, int64(2+i), "slug-"+id, nil, r.IntN(300), pick(tags), pick(topics), "s1"))
	}
	v := m.View("s1")
	all := v.ordered.slice()
	if !slices.IsSortedFunc(all, entryOrder) || len(all) < 800 {
		t.Fatalf("%d entries, sorted %v", len(all), slices.IsSortedFunc(all, entryOrder))
	}
	for _, tag := range append([]string{""}, tags...) {
		for _, topic := range append([]string{""}, topics...) {
			var want []*Entry
			for _, e := range all {
				if (tag == "" || slices.Contains(e.Tags, tag)) && (topic == "" || slices.Contains(e.Topics, topic)) {
					want = append(want, e)
				}
			}
			for _, size := range []int{1, 7, 100, 2000} {
				var got []*Entry
				var after *Cursor
				for pages := 0; ; pages++ {
					page, next := v.ListPage(tag, topic, after, size)
					if len(page) > size || pages > len(want)+1 {
						t.Fatalf("tag %q topic %q size %d: a page of %d, page %d", tag, topic, size, len(page), pages)
					}
					got = append(got, page...)
					if next == nil {
						break
					}
					after = next
				}
				if !slices.Equal(got, want) {
					t.Fatalf("tag %q topic %q size %d: %d entries paged, want %d", tag, topic, size, len(got), len(want))
				}
			}
		}
	}
}
