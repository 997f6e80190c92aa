package store

// SetBeforeReplace makes s run fn after each write's in-process check and before its guarded
// replace (where another replica's write can slip in).
func SetBeforeReplace(s *Store, fn func()) { s.beforeReplace = fn }
