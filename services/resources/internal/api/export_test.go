package api

// CachedJSON returns how many resources the delivery server keeps the JSON of.
func CachedJSON(s *DeliveryServer) int { return s.frags.len() }

// ParseQuery and QueryGet expose the read side's query parsing.
var ParseQuery = parseQuery

func QueryGet(q queryParams, name string) string { return q.get(name) }

// AppendHundredths exposes the JSON writer's distance formatting.
var AppendHundredths = appendHundredths
