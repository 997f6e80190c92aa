package api

// CachedJSON returns how many resources the delivery server keeps the JSON of.
func CachedJSON(s *DeliveryServer) int { return s.frags.len() }

// ParseQuery and QueryGet expose the read side's query parsing.
func ParseQuery(raw string) queryParams { return parseQuery(nil, raw) }

func QueryGet(q queryParams, name string) string { return q.get(name) }

// AppendHundredths exposes the JSON writer's distance formatting.
var AppendHundredths = appendHundredths

// ListAnswers returns how many list responses the delivery server keeps.
func ListAnswers(s *DeliveryServer) int { return s.answers.len() }
