package api

// CachedJSON returns how many resources the delivery server keeps the JSON of.
func CachedJSON(s *DeliveryServer) int { return s.frags.len() }
