package domain

import "context"

// Store persists sites. Implementations return apperr errors: NotFound for a missing id,
// AlreadyExists when Create finds the id taken (deleted sites included), Conflict when a
// conditional write lost a race.
type Store interface {
	// Create inserts a new site.
	Create(ctx context.Context, s *Site) error
	// Get returns the site, deleted or not.
	Get(ctx context.Context, id string) (*Site, error)
	// List returns at most limit sites (all when limit <= 0) ordered by id, after afterID (from
	// the start when empty); deleted ones only when showDeleted.
	List(ctx context.Context, afterID string, limit int, showDeleted bool) ([]*Site, error)
	// Update replaces the site when its stored revision is still prevRevision.
	Update(ctx context.Context, s *Site, prevRevision int64) error
}
