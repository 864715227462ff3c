{# grain: one row per entry_id that occurs more than once in the raw rewards_ledger (none on a clean load) #}
{{ config(materialized='table') }}
{{ repeated_keys(source('event_exports', 'rewards_ledger'), 'entry_id') }}
