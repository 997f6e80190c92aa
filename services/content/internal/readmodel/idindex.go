package readmodel

import "maps"

// idShards is the number of shards of an idIndex.
const idShards = 64

// idIndex maps article ids to entries, split into shards by a hash of the id so that a view
// derived from another copies only the shards its change touches (a map of 10,000 entries costs
// about a quarter of a millisecond to clone; one shard, a 64th of that). Only search results
// look entries up by id, so the extra hash is off the article path.
type idIndex [idShards]map[string]*Entry

func shardOf(id string) int {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h % idShards)
}

func newIDIndex(entries map[string]*Entry) *idIndex {
	var ix idIndex
	for i := range ix {
		ix[i] = map[string]*Entry{}
	}
	for id, e := range entries {
		ix[shardOf(id)][id] = e
	}
	return &ix
}

// get returns the entry of id, or nil.
func (ix *idIndex) get(id string) *Entry { return ix[shardOf(id)][id] }

// len returns the number of entries.
func (ix *idIndex) len() int {
	n := 0
	for _, m := range ix {
		n += len(m)
	}
	return n
}

// patched returns a copy of ix without the removed ids and with added, sharing the shards
// neither touches.
func (ix *idIndex) patched(removed []string, added []*Entry) *idIndex {
	n := *ix
	copied := [idShards]bool{}
	shard := func(id string) map[string]*Entry {
		s := shardOf(id)
		if !copied[s] {
			n[s], copied[s] = maps.Clone(n[s]), true
		}
		return n[s]
	}
	for _, id := range removed {
		delete(shard(id), id)
	}
	for _, e := range added {
		shard(e.ID)[e.ID] = e
	}
	return &n
}

// all calls fn for every entry, in no particular order.
func (ix *idIndex) all(fn func(id string, e *Entry)) {
	for _, m := range ix {
		for id, e := range m {
			fn(id, e)
		}
	}
}
