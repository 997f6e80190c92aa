package domain

// CacheLen returns how many found and not-found answers s's cache holds, expired or not.
func CacheLen(s *Service) (found, notFound int) {
	if s.cache == nil {
		return 0, 0
	}
	return s.cache.len()
}
