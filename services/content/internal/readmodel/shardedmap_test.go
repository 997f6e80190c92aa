package readmodel

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// TestShardedMapPatchesAgainstMaps applies random sets and deletes in patches of random size
// to a shardedMap and to a plain map, and checks after each patch that the derived map holds
// what the plain map does, that every map derived before is unchanged, and that the patch
// copied only the shards it changed.
func TestShardedMapPatchesAgainstMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	type version struct {
		m    *shardedMap[int]
		want map[string]int
	}
	cur, want := newShardedMap[int](), map[string]int{}
	var history []version
	for round := range 300 {
		p := cur.patch()
		changed := map[int]bool{}
		for range 1 + r.IntN(20) {
			k := fmt.Sprint("k", r.IntN(500))
			if r.IntN(3) == 0 {
				if _, ok := want[k]; ok {
					changed[cur.shardOf(k)] = true
				}
				p.delete(k)
				delete(want, k)
				continue
			}
			v := r.IntN(1000)
			changed[cur.shardOf(k)] = true
			p.set(k, v)
			want[k] = v
		}
		next := p.done()
		history = append(history, version{cur, maps.Clone(contents(cur))})
		if got := contents(next); !maps.Equal(got, want) || next.len() != len(want) {
			t.Fatalf("round %d: %d keys %v, want %d %v", round, next.len(), got, len(want), want)
		}
		for k, v := range want {
			if got, ok := next.get(k); !ok || got != v {
				t.Fatalf("round %d: get(%q) = %d, %v, want %d", round, k, got, ok, v)
			}
		}
		if _, ok := next.get("absent"); ok {
			t.Fatalf("round %d: get of an absent key found it", round)
		}
		for s := range mapShards {
			shared := fmt.Sprintf("%p", cur.shards[s]) == fmt.Sprintf("%p", next.shards[s])
			if shared == changed[s] {
				t.Fatalf("round %d: shard %d shared %v, changed %v", round, s, shared, changed[s])
			}
		}
		cur = next
	}
	for i, h := range history {
		if got := contents(h.m); !maps.Equal(got, h.want) {
			t.Fatalf("version %d changed after later patches", i)
		}
	}
}

func contents[V any](m *shardedMap[V]) map[string]V {
	out := map[string]V{}
	m.all(func(k string, v V) { out[k] = v })
	return out
}
