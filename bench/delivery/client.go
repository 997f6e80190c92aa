package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// client sends the pre-flight and cold-start requests. Like wrk it asks for no compression, so
// the bytes it sees are the bytes wrk is served; it never uses a proxy.
var client = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableCompression: true, MaxIdleConnsPerHost: 4},
	Timeout:   30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func get(ctx context.Context, rawURL string, headers ...string) (response, error) {
	if err := checkLoopback(rawURL); err != nil {
		return response{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// expect GETs rawURL and fails unless the status is want.
func expect(ctx context.Context, want int, rawURL string, headers ...string) (response, error) {
	r, err := get(ctx, rawURL, headers...)
	if err != nil {
		return r, fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if r.Status != want {
		return r, fmt.Errorf("GET %s: status %d, want %d: %.300s", rawURL, r.Status, want, r.Body)
	}
	return r, nil
}

// The delivery JSON is protojson (lowerCamelCase); the proto names are accepted too.
type card struct {
	Slug string `json:"slug"`
}

type listPage struct {
	Articles          []card `json:"articles"`
	NextPageToken     string `json:"nextPageToken"`
	NextPageTokenProt string `json:"next_page_token"`
}

func (p listPage) next() string {
	if p.NextPageToken != "" {
		return p.NextPageToken
	}
	return p.NextPageTokenProt
}

type searchPage struct {
	Results []json.RawMessage `json:"results"`
	// int32 is a JSON number in protojson; accept a string too.
	TotalSize     json.Number `json:"totalSize"`
	TotalSizeProt json.Number `json:"total_size"`
}

func listURL(base, site string, pageSize int, pageToken string) string {
	q := url.Values{"pageSize": {strconv.Itoa(pageSize)}}
	if pageToken != "" {
		q.Set("pageToken", pageToken)
	}
	return base + "/v1/sites/" + url.PathEscape(site) + "/articles?" + q.Encode()
}

func articleURL(base, site, slug string) string {
	return base + "/v1/sites/" + url.PathEscape(site) + "/articles/" + url.PathEscape(slug)
}

func searchURL(base, site, query string) string {
	return base + "/v1/sites/" + url.PathEscape(site) + "/search?" + url.Values{"q": {query}}.Encode()
}

// walkList pages through the whole list of a site (pageSize 100) and returns how many cards it
// saw. It stops by itself after maxPages.
func walkList(ctx context.Context, base, site string, maxPages int) (cards, pages int, err error) {
	token := ""
	for pages < maxPages {
		r, err := expect(ctx, http.StatusOK, listURL(base, site, 100, token))
		if err != nil {
			return cards, pages, err
		}
		var p listPage
		if err := json.Unmarshal(r.Body, &p); err != nil {
			return cards, pages, fmt.Errorf("list page %d: %w", pages+1, err)
		}
		pages++
		cards += len(p.Articles)
		if token = p.next(); token == "" {
			return cards, pages, nil
		}
	}
	return cards, pages, fmt.Errorf("list still had a next page after %d pages", maxPages)
}
