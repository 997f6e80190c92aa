package delivery

import (
	"context"
	"strconv"
	"strings"

	"github.com/beaconcms/beacon/platform/apperr"
	"github.com/beaconcms/beacon/platform/pagetoken"
	"github.com/beaconcms/beacon/services/content/internal/readmodel"
)

// Page sizes of the delivery lists.
const (
	defaultListSize   = 20
	maxListSize       = 100
	defaultSearchSize = 10
	maxSearchSize     = 50
	maxQueryLen       = 200
)

func articleNotFound(v *readmodel.View, slug string) error {
	return apperr.New(apperr.NotFound, "sites/%s has no published article %q", v.Site().ID, slug)
}

// listCards returns one page of the view's cards filtered by tag and topic, continuing after
// token, and the token of the next page ("" on the last page). REST and gRPC both list
// through it.
func listCards(tokens *pagetoken.Codec, v *readmodel.View, tag, topic, token string, size int) ([]*readmodel.Entry, string, error) {
	tag, topic = strings.ToLower(tag), strings.ToLower(topic)
	scope := pagetoken.Scope("delivery-list", v.Site().ID, tag, topic)
	var after *readmodel.Cursor
	if token != "" {
		after = &readmodel.Cursor{}
		if err := tokens.Decode(token, scope, after); err != nil {
			return nil, "", err
		}
	}
	cards, next := v.ListPage(tag, topic, after, size)
	if next == nil {
		return cards, "", nil
	}
	nextToken, err := tokens.Encode(scope, next)
	return cards, nextToken, err
}

func parsePageSize(raw, field string, def, max int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	switch {
	case err != nil:
		return 0, apperr.InvalidField(field, "must be a whole number, got %q", raw)
	case n < 0:
		return 0, apperr.InvalidField(field, "must not be negative")
	case n == 0:
		return def, nil
	case n > max:
		return max, nil
	}
	return n, nil
}

// searchCursor is what a search page token carries.
type searchCursor struct {
	Offset int `json:"o"`
}

type searchResult struct {
	hits  []readmodel.Hit
	next  string
	total int
}

// runSearch ranks the view's articles against query and returns one page.
func runSearch(ctx context.Context, tokens *pagetoken.Codec, v *readmodel.View, query, rawSize, token string) (searchResult, error) {
	query = strings.TrimSpace(query)
	switch {
	case query == "":
		return searchResult{}, apperr.InvalidField("q", "is required")
	case len(query) > maxQueryLen:
		return searchResult{}, apperr.InvalidField("q", "must be at most %d bytes", maxQueryLen)
	}
	size, err := parsePageSize(rawSize, "pageSize", defaultSearchSize, maxSearchSize)
	if err != nil {
		return searchResult{}, err
	}
	scope := pagetoken.Scope("delivery-search", v.Site().ID, query)
	var cur searchCursor
	if token != "" {
		if err := tokens.Decode(token, scope, &cur); err != nil {
			return searchResult{}, err
		}
	}
	all, err := v.Search(ctx, query)
	if err != nil {
		return searchResult{}, err
	}
	res := searchResult{total: len(all)}
	if cur.Offset < len(all) {
		end := min(cur.Offset+size, len(all))
		res.hits = all[cur.Offset:end]
		if end < len(all) {
			if res.next, err = tokens.Encode(scope, searchCursor{Offset: end}); err != nil {
				return searchResult{}, err
			}
		}
	}
	return res, nil
}
