-- One login per user with an email, a second one for a fifth of them; tokens only as ciphertext.
select
    pg_temp.id('auth', a.i) as id,
    pg_temp.id('user', a.j) as user_id,
    a.provider,
    case
        when a.provider = 'credentials' then 'user-' || a.j
        else (100000000 + floor(pg_temp.u(a.i, 'auth_account.account_id') * 899999999))::bigint || '-' || a.i
    end as provider_account_id,
    case
        when a.provider != 'credentials'
            then decode(md5(%(seed_text)s || ':access:' || a.i) || md5(%(seed_text)s || ':a2:' || a.i), 'hex')
    end as access_token_ciphertext,
    case
        when a.provider != 'credentials' and pg_temp.u(a.i, 'auth_account.refresh_token') < 0.8
            then decode(md5(%(seed_text)s || ':refresh:' || a.i), 'hex')
    end as refresh_token_ciphertext,
    case
        when a.provider != 'credentials'
            then pg_temp.pick(%(encryption_keys)s, pg_temp.u(a.i, 'auth_account.encryption_key'))
    end as encryption_key_id,
    jsonb_build_object(
        'locale', pg_temp.pick(%(locales)s, pg_temp.u(a.i, 'auth_account.locale'))
    ) as raw_profile,
    pg_temp.user_created(a.j, %(start)s) as created_at,
    pg_temp.user_created(a.j, %(start)s) as updated_at
from (
    select
        j * 2 + n as i,
        j,
        pg_temp.pick(%(auth_providers)s, (n + pg_temp.u(j, 'auth_account.provider')) / 2) as provider
    from generate_series(0, %(users)s - 1) as j
    cross join generate_series(0, 1) as n
    where not pg_temp.is_anonymous(j, %(orgs)s) and (n = 0 or pg_temp.u(j, 'auth_account.has_second') < 0.2)
) as a
