{# grain: one row per receipt_id that occurs more than once in the raw receipts (none on a clean load) #}
{{ config(materialized='table') }}
{{ repeated_keys(source('event_exports', 'receipts'), 'receipt_id') }}
