//! Rotating refresh tokens. Each use spends a token and issues its successor in the
//! same family; presenting a spent token means it was stolen or replayed, so the whole
//! family is revoked.

use chrono::{Duration, Utc};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::db::SystemTx;
use crate::entity::refresh_token;
use crate::error::Result;
use crate::ids::{MemberId, TenantId};
use crate::store::{hex, now};

pub(crate) fn random_token(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let body: String = (0..43).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{prefix}{body}")
}

fn hash(token: &str) -> String {
    hex(&crate::api_key_secret::hash_secret(token))
}

pub async fn issue(
    tx: &SystemTx,
    tenant: TenantId,
    member: MemberId,
    family: Option<String>,
    ttl_secs: i64,
) -> Result<String> {
    let token = random_token("mqr_");
    refresh_token::ActiveModel {
        tenant_id: Set(tenant.get()),
        member_id: Set(member.get()),
        family_id: Set(family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())),
        token_hash: Set(hash(&token)),
        created_at: Set(now()),
        expires_at: Set(now() + Duration::seconds(ttl_secs)),
        ..Default::default()
    }
    .insert(tx.conn())
    .await?;
    Ok(token)
}

pub enum Spend {
    /// The token was live and is now spent; issue its successor in `family`.
    Spent { tenant: TenantId, member: MemberId, family: String },
    /// Unknown, expired or revoked.
    Invalid,
    /// Already spent once: the family has been revoked. Commit, then refuse.
    ReuseDetected { tenant: TenantId, member: MemberId },
}

pub async fn spend(tx: &SystemTx, token: &str) -> Result<Spend> {
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash(token.trim())))
        .one(tx.conn())
        .await?
    else {
        return Ok(Spend::Invalid);
    };
    if row.revoked_at.is_some() || row.expires_at <= Utc::now() {
        return Ok(Spend::Invalid);
    }
    // Conditional update: of two concurrent refreshes with one token, exactly one wins.
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now()))
        .filter(refresh_token::Column::Id.eq(row.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(tx.conn())
        .await?;
    if spent.rows_affected == 1 {
        return Ok(Spend::Spent {
            tenant: TenantId::from_db(row.tenant_id),
            member: MemberId::from_db(row.member_id),
            family: row.family_id,
        });
    }
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_token::Column::TenantId.eq(row.tenant_id))
        .filter(refresh_token::Column::FamilyId.eq(row.family_id))
        .exec(tx.conn())
        .await?;
    Ok(Spend::ReuseDetected { tenant: TenantId::from_db(row.tenant_id), member: MemberId::from_db(row.member_id) })
}

/// Revokes every live refresh token of one member of the context's tenant (on removal),
/// so no session of theirs can be renewed. Returns how many were live.
pub async fn revoke_all_of_member(
    ctx: &crate::ctx::TenantCtx,
    tx: &crate::db::TenantTx,
    member: MemberId,
) -> Result<u64> {
    let revoked = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_token::Column::TenantId.eq(ctx.tenant_id().get()))
        .filter(refresh_token::Column::MemberId.eq(member.get()))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(tx.conn())
        .await?;
    Ok(revoked.rows_affected)
}

/// Revokes the family of a live refresh token (on logout): the token and any successor
/// it could still have stop working at once. Unknown, expired or already revoked tokens
/// revoke nothing and answer `None`, so logging out twice is harmless.
pub async fn revoke_family(tx: &SystemTx, token: &str) -> Result<Option<(TenantId, MemberId)>> {
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash(token.trim())))
        .one(tx.conn())
        .await?
    else {
        return Ok(None);
    };
    if row.revoked_at.is_some() || row.expires_at <= Utc::now() {
        return Ok(None);
    }
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now()))
        .filter(refresh_token::Column::TenantId.eq(row.tenant_id))
        .filter(refresh_token::Column::FamilyId.eq(row.family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(tx.conn())
        .await?;
    Ok(Some((TenantId::from_db(row.tenant_id), MemberId::from_db(row.member_id))))
}
