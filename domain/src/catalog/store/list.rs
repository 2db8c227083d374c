//! Keyset-paginated, filtered lists of live content items.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use tenants::TenantTx;
use tenants::page::{Page, PageRequest, SortCursor, SortValue};

use super::to_domain;
use crate::catalog::entity::{content_genre, content_item, content_tag};
use crate::catalog::types::*;
use crate::error::{DomainError, Result};
use crate::sql::to_ms;

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

fn filter_condition(tenant_id: i64, f: &ContentFilter) -> Condition {
    use content_item::Column as C;
    let mut cond = Condition::all().add(C::TenantId.eq(tenant_id)).add(C::DeletedAt.is_null());
    if !f.kinds.is_empty() {
        cond = cond.add(C::Kind.is_in(f.kinds.iter().map(|k| k.as_str())));
    }
    if let Some(genre) = &f.genre {
        cond = cond.add(
            C::Id.in_subquery(
                Query::select()
                    .column(content_genre::Column::ItemId)
                    .from(content_genre::Entity)
                    .and_where(content_genre::Column::TenantId.eq(tenant_id))
                    .and_where(content_genre::Column::Genre.eq(genre.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(tag) = &f.tag {
        cond = cond.add(
            C::Id.in_subquery(
                Query::select()
                    .column(content_tag::Column::ItemId)
                    .from(content_tag::Entity)
                    .and_where(content_tag::Column::TenantId.eq(tenant_id))
                    .and_where(content_tag::Column::Tag.eq(tag.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(provider) = &f.provider {
        cond = cond.add(C::Provider.eq(provider.as_str()));
    }
    if let Some(at) = f.available_at {
        let at = to_ms(at);
        cond = cond
            .add(Condition::any().add(C::AvailableFrom.is_null()).add(C::AvailableFrom.lte(at)))
            .add(Condition::any().add(C::AvailableUntil.is_null()).add(C::AvailableUntil.gt(at)));
    }
    if let Some(text) = &f.text {
        let pattern = escape_like(text);
        cond = cond.add(
            Condition::any()
                .add(Expr::expr(Func::lower(Expr::col(C::Title))).like(LikeExpr::new(pattern.clone()).escape('\\')))
                .add(Expr::expr(Func::lower(Expr::col(C::Description))).like(LikeExpr::new(pattern).escape('\\'))),
        );
    }
    cond
}

/// How many live items match the filter (what [`list`] pages through).
pub(crate) async fn count(tx: &TenantTx, filter: &ContentFilter) -> Result<u64> {
    let cond = filter_condition(tx.tenant_id().get(), filter);
    Ok(content_item::Entity::find().filter(cond).count(tx.conn()).await?)
}

/// One page of items, filtered and sorted, continuing after the cursor's row.
pub(crate) async fn list(
    tx: &TenantTx,
    filter: &ContentFilter,
    sort: ContentSort,
    page: &PageRequest<SortCursor>,
) -> Result<Page<Content, SortCursor>> {
    use content_item::Column as C;
    let name = sort.cursor_name();
    let mut cond = filter_condition(tx.tenant_id().get(), filter);
    let release = || Expr::expr(Func::coalesce([Expr::col(C::ReleaseDate), Expr::val("")]));
    if let Some(after) = &page.after {
        after.check_sort(name)?;
        let id = after.id;
        let text = || match &after.value {
            SortValue::Text(s) => Ok(s.clone()),
            _ => Err(DomainError::invalid("after", "not a cursor from this API")),
        };
        let next = match (sort.field, sort.descending) {
            (ContentSortField::Created, false) => Condition::all().add(C::Id.gt(id)),
            (ContentSortField::Created, true) => Condition::all().add(C::Id.lt(id)),
            (ContentSortField::Title, false) => {
                let v = text()?;
                Condition::any().add(C::Title.gt(v.clone())).add(Condition::all().add(C::Title.eq(v)).add(C::Id.gt(id)))
            }
            (ContentSortField::Title, true) => {
                let v = text()?;
                Condition::any().add(C::Title.lt(v.clone())).add(Condition::all().add(C::Title.eq(v)).add(C::Id.lt(id)))
            }
            (ContentSortField::ReleaseDate, false) => {
                let v = text()?;
                Condition::any()
                    .add(release().gt(v.clone()))
                    .add(Condition::all().add(release().eq(v)).add(C::Id.gt(id)))
            }
            (ContentSortField::ReleaseDate, true) => {
                let v = text()?;
                Condition::any()
                    .add(release().lt(v.clone()))
                    .add(Condition::all().add(release().eq(v)).add(C::Id.lt(id)))
            }
        };
        cond = cond.add(next);
    }
    let order = if sort.descending { sea_orm::Order::Desc } else { sea_orm::Order::Asc };
    let mut query = content_item::Entity::find().filter(cond);
    query = match sort.field {
        ContentSortField::Created => query,
        ContentSortField::Title => query.order_by(C::Title, order.clone()),
        ContentSortField::ReleaseDate => query.order_by(release(), order.clone()),
    };
    let rows = query.order_by(C::Id, order).limit(page.limit()).all(tx.conn()).await?;
    let mut items = Vec::with_capacity(rows.len());
    for m in rows {
        let value = match sort.field {
            ContentSortField::Created => SortValue::Null,
            ContentSortField::Title => SortValue::Text(m.title.clone()),
            ContentSortField::ReleaseDate => SortValue::Text(m.release_date.clone().unwrap_or_default()),
        };
        let cursor = SortCursor { sort: name.to_owned(), value, id: m.id };
        items.push((cursor, to_domain(m)?));
    }
    Ok(Page::from_overfetch(items, page))
}
