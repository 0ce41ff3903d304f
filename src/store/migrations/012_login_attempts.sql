-- Lockouts an attacker cannot turn against the owner: wrong passwords are counted per account and
-- client address (5 lock that account from that address only), and per account from all
-- addresses together (ip = '*', a slower limit that spares addresses the account logged in from
-- before). account is the name as typed ('org:<USCC>', 'staff:<username>', 'password:org:<USCC>'),
-- known or not, so that unknown accounts behave exactly like existing ones.
CREATE TABLE login_attempts (
    account TEXT NOT NULL,
    ip TEXT NOT NULL,
    -- attempts counted in the current period, each before its password is checked (a right
    -- password takes its attempt back); the period ends at period_ends, renewed by every attempt
    -- until max_attempts were counted, after which it stays: the lock lasts one period from then.
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    period_ends TEXT NOT NULL,
    ok_at TEXT, -- the last right password from this address
    PRIMARY KEY (account, ip)
);
CREATE INDEX login_attempts_period ON login_attempts (period_ends);

-- The counter and lock of an organisation now live in login_attempts.
ALTER TABLE organisations DROP COLUMN failed_logins;
ALTER TABLE organisations DROP COLUMN locked_until;
