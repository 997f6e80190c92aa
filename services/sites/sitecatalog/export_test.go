package sitecatalog

import "time"

// SetClock replaces the clock the catalog reads for its memory of misses.
func SetClock(c *Catalog, now func() time.Time) { c.now = now }

// RememberedMisses returns how many misses the catalog remembers.
func RememberedMisses(c *Catalog) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.misses)
}
