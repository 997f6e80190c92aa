package store

// SetBeforeReplace makes s run fn after each update's in-process check and before its guarded
// replace (where another replica's write can slip in).
func SetBeforeReplace(s *Questionnaires, fn func()) { s.beforeReplace = fn }

// SetBeforeWrite makes s run fn after each day's merge and before its guarded write.
func SetBeforeWrite(s *Counters, fn func()) { s.beforeWrite = fn }
