package api

import (
	contentv1 "github.com/beaconcms/beacon/gen/beacon/content/v1"
	"github.com/beaconcms/beacon/platform/auth"
)

// Rules is the access policy of the article API. Roles decide which methods a key may
// call; the domain service then limits every call to the sites the key covers.
func Rules() auth.Policy {
	readers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor, auth.RoleViewer}}
	writers := auth.Rule{Roles: []auth.Role{auth.RoleAdmin, auth.RoleEditor}}
	return auth.Policy{
		contentv1.ArticleService_CreateArticle_FullMethodName:        writers,
		contentv1.ArticleService_GetArticle_FullMethodName:           readers,
		contentv1.ArticleService_ListArticles_FullMethodName:         readers,
		contentv1.ArticleService_UpdateArticle_FullMethodName:        writers,
		contentv1.ArticleService_DeleteArticle_FullMethodName:        writers,
		contentv1.ArticleService_UndeleteArticle_FullMethodName:      writers,
		contentv1.ArticleService_PublishArticle_FullMethodName:       writers,
		contentv1.ArticleService_UnpublishArticle_FullMethodName:     writers,
		contentv1.ArticleService_ScheduleArticle_FullMethodName:      writers,
		contentv1.ArticleService_ArchiveArticle_FullMethodName:       writers,
		contentv1.ArticleService_ListArticleRevisions_FullMethodName: readers,
		contentv1.ArticleService_RollbackArticle_FullMethodName:      writers,
		contentv1.ArticleService_PreviewArticle_FullMethodName:       writers,
	}
}
