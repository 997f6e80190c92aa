package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
)

// articlesPageSize is how many articles one page of the Articles screen lists unless the
// URL's size (1 to 100, the API's bound) says otherwise.
const articlesPageSize = 25

// articlePageSizes are the page sizes the form offers.
var articlePageSizes = []int{10, 25, 50, 100}

// articleStates are the states the Articles filter offers (the content API's names).
var articleStates = []string{"DRAFT", "SCHEDULED", "PUBLISHED", "ARCHIVED"}

// articleSorts are the orders the Articles screen offers: the content API's order_by fields.
var articleSorts = []option{
	{Value: "update_time", Label: "Last changed"},
	{Value: "create_time", Label: "Created"},
	{Value: "publish_time", Label: "Published"},
	{Value: "title", Label: "Title"},
}

// option is one choice of a select.
type option struct{ Value, Label string }

// articleQuery is the Articles screen's form: the URL's query, as typed.
type articleQuery struct {
	State, Site, Tag, Author string
	Title                    string // searched for in titles: title:"..." (contains, any case)
	Sort                     string // one of articleSorts' values
	Desc                     bool
	PageSize                 int
	PageToken                string
	Page                     int // 1-based number of the page PageToken opens (for the caption)
}

// filterFields are the Articles form's filter inputs, in the order a refused filter is
// attributed to them.
var filterFields = []string{"title", "state", "site", "tag", "author"}

func articleQueryOf(q url.Values) articleQuery {
	aq := articleQuery{
		State: strings.TrimSpace(q.Get("state")), Site: strings.TrimSpace(q.Get("site")),
		Tag: strings.TrimSpace(q.Get("tag")), Author: strings.TrimSpace(q.Get("author")), Title: strings.TrimSpace(q.Get("title")),
		Sort: q.Get("sort"), Desc: q.Get("dir") != "asc", PageToken: q.Get("page_token"), Page: 1,
	}
	aq.PageSize = articlesPageSize
	if n, err := strconv.Atoi(q.Get("size")); err == nil && n >= 1 && n <= 100 {
		aq.PageSize = n
	}
	if aq.Sort == "" {
		aq.Sort = "update_time"
	}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 && aq.PageToken != "" {
		aq.Page = n
	}
	return aq
}

func (q articleQuery) value(field string) string {
	switch field {
	case "state":
		return q.State
	case "site":
		return q.Site
	case "tag":
		return q.Tag
	case "author":
		return q.Author
	case "title":
		return q.Title
	}
	return ""
}

// condition is the AIP-160 condition of one filter input, or "" when it is empty: the title is
// searched for (title:"..."), the others must equal. Values are quoted; the content API parses
// them and refuses what it does not accept.
func (q articleQuery) condition(field string) string {
	v := q.value(field)
	switch {
	case v == "":
		return ""
	case field == "title":
		return "title:" + quoteFilterValue(v)
	}
	return field + " = " + quoteFilterValue(v)
}

// filter is the AIP-160 filter of the form: its non-empty inputs joined by AND.
func (q articleQuery) filter() string {
	var conds []string
	for _, f := range filterFields {
		if c := q.condition(f); c != "" {
			conds = append(conds, c)
		}
	}
	return strings.Join(conds, " AND ")
}

func (q articleQuery) orderBy() string {
	if q.Desc {
		return q.Sort + " desc"
	}
	return q.Sort
}

// link is the URL of the Articles screen with the same filter and sort, opening pageToken as
// page number page (the first page without a token).
func (q articleQuery) link(pageToken string, page int) string {
	v := url.Values{}
	for _, f := range filterFields {
		if s := q.value(f); s != "" {
			v.Set(f, s)
		}
	}
	v.Set("sort", q.Sort)
	if q.Desc {
		v.Set("dir", "desc")
	} else {
		v.Set("dir", "asc")
	}
	if q.PageSize != articlesPageSize {
		v.Set("size", strconv.Itoa(q.PageSize))
	}
	if pageToken != "" {
		v.Set("page_token", pageToken)
		v.Set("page", strconv.Itoa(page))
	}
	return Prefix + "articles?" + v.Encode()
}

// quoteFilterValue quotes s as an AIP-160 string: backslash and double quote escaped.
func quoteFilterValue(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// articlesPage is the Articles screen's data.
type articlesPage struct {
	Query       articleQuery
	States      []string
	Sorts       []option
	Sizes       []int
	SortLabel   string
	Rows        []articleListRow
	FieldErrors map[string]string // form input name -> the API's message
	NextLink    string
	FirstLink   string // set when this is not the first page
	Empty       bool
}

// articleListRow is one article of the Articles table.
type articleListRow struct {
	Name, Title, State, Sites, Authors, Tags string
	Time                                     time.Time // of the sort's field (update time for title)
}

// articleList lists the articles the signed-in user may see, filtered, sorted and paged by the
// content service (ListArticles as the user). A filter or sort the service refuses is shown
// beside its input with the service's message, answered 400.
func (c *Console) articleList(w http.ResponseWriter, r *http.Request) {
	token, sess, ok := c.current(w, r)
	if !ok {
		http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
		return
	}
	if sess == nil {
		return // answered by current
	}
	q := articleQueryOf(r.URL.Query())
	data := pageData{Title: "Articles", Viewer: viewerOf(sess)}
	page := &articlesPage{Query: q, States: articleStates, Sorts: articleSorts, Sizes: articlePageSizes, SortLabel: q.Sort}
	for _, s := range articleSorts {
		if s.Value == q.Sort {
			page.SortLabel = s.Label
		}
	}
	data.Articles = page
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	resp, err := c.articles.ListArticles(ctx, &contentv1.ListArticlesRequest{
		Filter: q.filter(), OrderBy: q.orderBy(), PageSize: int32(q.PageSize), PageToken: q.PageToken})
	if status.Code(err) == codes.InvalidArgument {
		page.FieldErrors = c.attributeListError(r, token, q, err)
		c.render(w, r, http.StatusBadRequest, "articles", data)
		return
	}
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	for _, a := range resp.GetArticles() {
		page.Rows = append(page.Rows, listRowOf(a, q.Sort))
	}
	page.Empty = len(page.Rows) == 0
	if next := resp.GetNextPageToken(); next != "" {
		page.NextLink = q.link(next, q.Page+1)
	}
	if q.PageToken != "" {
		page.FirstLink = q.link("", 1)
	}
	c.render(w, r, http.StatusOK, "articles", data)
}

// attributeListError finds the form input a refused list request is about, by asking the
// content service about each filter input alone and then the sort: the input it refuses gets
// its message. A refusal none of them alone explains (e.g. an expired page token) is shown
// above the form under "form".
func (c *Console) attributeListError(r *http.Request, token string, q articleQuery, listErr error) map[string]string {
	ctx, cancel := c.callContext(r, token)
	defer cancel()
	out := map[string]string{}
	for _, f := range filterFields {
		cond := q.condition(f)
		if cond == "" {
			continue
		}
		_, err := c.articles.ListArticles(ctx, &contentv1.ListArticlesRequest{Filter: cond, PageSize: 1})
		if status.Code(err) == codes.InvalidArgument {
			out[f] = status.Convert(err).Message()
		}
	}
	if _, err := c.articles.ListArticles(ctx, &contentv1.ListArticlesRequest{OrderBy: q.orderBy(), PageSize: 1}); status.Code(err) == codes.InvalidArgument {
		out["sort"] = status.Convert(err).Message()
	}
	if len(out) == 0 {
		out["form"] = status.Convert(listErr).Message()
	}
	return out
}

func listRowOf(a *contentv1.Article, sort string) articleListRow {
	base := rowOf(a)
	authors := make([]string, 0, len(a.GetAuthors()))
	for _, p := range a.GetAuthors() {
		authors = append(authors, p.GetDisplayName())
	}
	row := articleListRow{
		Name: a.GetName(), Title: base.Title, Sites: base.Sites, Time: base.Updated,
		State:   strings.ToLower(strings.TrimPrefix(a.GetState().String(), "STATE_")),
		Authors: strings.Join(authors, ", "), Tags: strings.Join(slices.Clone(a.GetTags()), ", "),
	}
	switch sort {
	case "create_time":
		row.Time = a.GetCreateTime().AsTime()
	case "publish_time":
		row.Time = time.Time{}
		if a.GetPublishTime() != nil {
			row.Time = a.GetPublishTime().AsTime()
		}
	}
	return row
}
