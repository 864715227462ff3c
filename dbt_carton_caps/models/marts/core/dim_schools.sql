{# grain: one row per school (school_id) #}
with

schools as (

    select * from {{ ref('stg_app_db__schools') }}

),

linked_users as (

    select school_id, count(*) as linked_users
    from {{ ref('stg_app_db__users') }}
    where school_id is not null
    group by school_id

)

select
    schools.school_id,
    schools.school_name,
    schools.city,
    schools.state,
    schools.zip_code,
    schools.enrollment,
    coalesce(linked_users.linked_users, 0) as linked_users,
    cast(schools.created_at as date) as created_date,
    schools.created_at
from schools
left join linked_users on schools.school_id = linked_users.school_id
