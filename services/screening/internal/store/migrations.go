package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/beaconcms/beacon/platform/mongodb"
)

// Migrations are the screening database's migrations, in order. Every collection is read and
// written by _id only, so none needs an index.
func Migrations() []mongodb.Migration {
	return []mongodb.Migration{{
		Version:     1,
		Description: "screening: create the questionnaires, questionnaire_versions, questionnaire_revisions and screening_counters collections",
		Up: func(ctx context.Context, db *mongo.Database) error {
			for _, name := range []string{questionnairesCollection, versionsCollection, revisionsCollection, countersCollection} {
				err := db.CreateCollection(ctx, name)
				var se mongo.ServerError
				if err != nil && !(errors.As(err, &se) && se.HasErrorCode(48)) { // 48: NamespaceExists
					return fmt.Errorf("creating %s: %w", name, err)
				}
			}
			return nil
		},
	}}
}
