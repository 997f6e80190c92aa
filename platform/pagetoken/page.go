package pagetoken

import "github.com/beaconcms/beacon/platform/apperr"

// Page sizes of every list method (AIP-158).
const (
	DefaultSize = 20
	MaxSize     = 100
)

// Size returns the page size a list request asks for: 0 means DefaultSize, more than MaxSize is
// MaxSize, and a negative size is an InvalidArgument naming page_size.
func Size(requested int32) (int, error) {
	switch {
	case requested < 0:
		return 0, apperr.InvalidField("page_size", "must not be negative")
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	}
	return int(requested), nil
}

// Tokens is what PageBefore needs of a Codec.
type Tokens interface {
	Encode(scope string, payload any) (string, error)
	Decode(token, scope string, payload any) error
}

// beforeToken is the payload of a PageBefore token: the key the next page stays below.
type beforeToken struct {
	Before int64 `json:"b"`
}

// PageBefore serves one page of a list ordered by a descending number, such as revisions newest
// first. It reads the bound of token (none for ""), calls fetch for up to size+1 items below the
// bound (before is 0 for the first page), and returns at most size items with the token of the
// next page ("" on the last). key returns an item's number. The token is bound to scope (see
// Scope), and a bad one is an InvalidArgument naming page_token.
func PageBefore[T any](tokens Tokens, scope, token string, size int, key func(T) int64, fetch func(before int64, limit int) ([]T, error)) ([]T, string, error) {
	var tok beforeToken
	if token != "" {
		if err := tokens.Decode(token, scope, &tok); err != nil {
			return nil, "", err
		}
	}
	items, err := fetch(tok.Before, size+1)
	if err != nil {
		return nil, "", err
	}
	if len(items) <= size {
		return items, "", nil
	}
	items = items[:size]
	next, err := tokens.Encode(scope, beforeToken{Before: key(items[size-1])})
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}
