-- name: street_points
-- The numbered addresses of one street of a postcode.
SELECT number, rep, lon, lat FROM addresses WHERE postcode = $1 AND street_key = $2;

-- name: street_keys
SELECT DISTINCT street_key FROM addresses WHERE postcode = $1;

-- name: any_address
SELECT exists(SELECT 1 FROM addresses);

-- name: clear_postcodes
-- An import replaces what the deployment held for the postcodes the file covers.
DELETE FROM addresses WHERE postcode = ANY ($1::text[]);

-- name: count_addresses
SELECT count(*) FROM addresses;
