// The two overflow policies of a conversion to a narrow format.
#pragma once

namespace mixq {

/// What `encode` does with values beyond the format's largest finite magnitude.
///  saturate  (OCP "saturating"): finite overflow and +-inf -> +-max finite; NaN -> NaN.
///  propagate (OCP "non-saturating", ml_dtypes default): overflow -> +-inf if the format has inf,
///            else its NaN if it has one, else +-max. NaN -> the format's NaN.
enum class overflow { saturate, propagate };

}  // namespace mixq
