package domain

// ChangedFields exposes changedFields to the external tests.
var ChangedFields = changedFields
