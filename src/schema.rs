// Diesel table definitions, kept in step with `migrations/` by hand
// (`diesel print-schema` would produce the same).

diesel::table! {
    accounts (id) {
        id -> Uuid,
        name -> Text,
        plan -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        account_id -> Uuid,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        disabled_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    domains (id) {
        id -> Uuid,
        account_id -> Uuid,
        hostname -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    admin_sessions (id) {
        id -> Uuid,
        sid_sha256 -> Bytea,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    inbound_keys (id) {
        id -> Uuid,
        domain_id -> Uuid,
        name -> Text,
        display_prefix -> Text,
        key_sha256 -> Bytea,
        created_at -> Timestamptz,
        created_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        browser_origin -> Nullable<Text>,
        browser_origin_seen_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    key_create_tokens (token) {
        token -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    conversion_events (id) {
        id -> Uuid,
        domain_id -> Uuid,
        inbound_key_id -> Nullable<Uuid>,
        key_name -> Text,
        email -> Text,
        email_sha256 -> Text,
        event -> Text,
        value -> Nullable<Numeric>,
        currency -> Nullable<Text>,
        event_id -> Nullable<Text>,
        click_id -> Nullable<Text>,
        occurred_at -> Timestamptz,
        received_at -> Timestamptz,
        properties -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    key_audit_events (id) {
        id -> Uuid,
        domain_id -> Uuid,
        key_id -> Uuid,
        key_name -> Text,
        key_prefix -> Nullable<Text>,
        action -> Text,
        actor_user_id -> Nullable<Uuid>,
        actor_email -> Text,
        source_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        at -> Timestamptz,
    }
}

diesel::table! {
    sign_in_sources (email, ip) {
        email -> Text,
        ip -> Text,
        last_success_at -> Timestamptz,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        email -> Text,
        ip -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    key_deliveries (id) {
        id -> Int8,
        key_id -> Uuid,
        at -> Timestamptz,
        event -> Nullable<Text>,
        outcome -> Text,
        status -> Int2,
        error_code -> Nullable<Text>,
        request_id -> Text,
    }
}

diesel::table! {
    key_hourly_usage (key_id, hour) {
        key_id -> Uuid,
        hour -> Timestamptz,
        accepted -> Int4,
        rejected -> Int4,
        revoked_calls -> Int4,
    }
}

diesel::table! {
    key_sources (key_id, ip) {
        key_id -> Uuid,
        ip -> Text,
        user_agent -> Nullable<Text>,
        last_seen_at -> Timestamptz,
    }
}

diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(key_audit_events -> domains (domain_id));
diesel::joinable!(domains -> accounts (account_id));
diesel::joinable!(admin_sessions -> users (user_id));
diesel::joinable!(inbound_keys -> domains (domain_id));
diesel::joinable!(inbound_keys -> users (created_by));
diesel::joinable!(conversion_events -> domains (domain_id));
diesel::joinable!(conversion_events -> inbound_keys (inbound_key_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    users,
    domains,
    admin_sessions,
    inbound_keys,
    key_create_tokens,
    conversion_events,
    key_audit_events,
    login_failures,
    sign_in_sources,
    key_deliveries,
    key_hourly_usage,
    key_sources,
);
